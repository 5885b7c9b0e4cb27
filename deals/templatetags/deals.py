from collections.abc import Sequence
from html import escape  # Django's escape without its SafeString: for plain text

from django import template
from django.template.loader import get_template
from django.utils import timezone
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from crm.teams.templatetags.people import person
from deals.models import Deal
from leads.models import Lead

register = template.Library()

# A board card, as templates/deals/board.html wrote it with a tag or filter per field. Eighty
# cards of template nodes were most of the board's Python time (variable lookups, an include,
# a {% csrf_token %}, two {% translate %} and two date filters per card); here the labels are
# looked up once per page and each card is one string format. The text is the template's, byte
# for byte (spaces included): tests/deals/test_board.py compares the two.
_CARD = (
    '\n      <article class="card deal" data-deal="{pk}">'
    '\n        <a href="{url}"><strong>{contact}</strong></a>{company}'
    '\n        <div><span class="temp {temperature}">{temperature_label} · {score}</span></div>'
    "\n        {visit}"
    '\n        <div class="muted">{closer} · {created}</div>'
    "\n        {pick_up}"
    "\n      </article>\n    "
)
_PICK_UP = (
    '\n        <form method="post" action="{url}">{csrf}'
    '<button type="submit" class="primary pick-up">{label}</button></form>\n        '
)
_STAMP = "%d.%m %H:%M"  # the template's date:"d.m H:i"


@register.simple_tag(takes_context=True)
def deal_cards(context: template.Context, deals: Sequence[Deal]) -> SafeString:
    """A column's cards (deals.views._prepare_cards has set their links and Pick up) as HTML;
    an empty first page says so with a dash, a "Show more" page past the end says nothing."""
    if not deals:
        request = context.get("request")
        after = request is not None and request.GET.get("after")
        return mark_safe("\n    " if after else '<p class="muted">—</p>\n    ')  # noqa: S308
    zone = timezone.get_current_timezone()
    house = get_template("icons/house.html").render()
    token = context.get("csrf_token")
    csrf = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'
        if token and token != "NOTPROVIDED"  # noqa: S105 - Django's "no token", no secret
        else ""
    )
    pool = esc(_("in the pool"))
    pick_up = esc(_("Pick up"))
    temperatures = {value: esc(label) for value, label in Lead.Temperature.choices}
    html = []
    for deal in deals:
        lead = deal.lead
        meeting = deal.meeting_at
        html.append(
            _CARD.format(
                pk=deal.pk,
                url=escape(deal.detail_url),
                contact=escape(str(deal.contact)),
                company=f" · {escape(str(deal.company))}" if deal.company else "",
                temperature=escape(lead.temperature),
                temperature_label=temperatures.get(lead.temperature)
                or esc(lead.get_temperature_display()),
                score=lead.score,
                visit=(
                    f'<div class="visit">{house} '
                    f"{timezone.localtime(meeting, zone).strftime(_STAMP)}</div>"
                    if meeting
                    else ""
                ),
                closer=escape(person(deal.closer)) if deal.closer else pool,
                created=timezone.localtime(deal.created_at, zone).strftime(_STAMP),
                pick_up=(
                    _PICK_UP.format(url=escape(deal.accept_url), csrf=csrf, label=pick_up)
                    if deal.can_pick_up
                    else ""
                ),
            )
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped
