from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from html import escape  # Django's escape without its SafeString: for plain text

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape as esc
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext, override
from django.utils.translation import gettext as _

from crm.lib.phones import international, tel_uri
from crm.teams.templatetags.people import person
from leads.alerts import sla_state
from leads.models import Lead
from leads.search import Query, highlight_spans

register = template.Library()


@register.filter
def due_in(due_at: datetime, now: datetime) -> str:
    """ "in 12 min" / "5 min late": what a qualifier needs at a glance."""
    return _due_text(int((due_at - now).total_seconds() // 60))


def _due_text(minutes: int) -> str:
    if minutes >= 0:
        return _("in %(time)s") % {"time": _span(minutes)}
    return _("%(time)s late") % {"time": _span(-minutes)}


def _span(minutes: int) -> str:
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    if minutes < 48 * 60:
        return _("%(h)d h %(m)d min") % {"h": minutes // 60, "m": minutes % 60}
    days = minutes // (24 * 60)
    return ngettext("%(d)d day", "%(d)d days", days) % {"d": days}


@register.filter
def sla_status(lead: Lead, now: datetime) -> str:
    """The row colour, from the lead's SLA state (leads.alerts.sla_state, as "SLA now" reads
    it): sla-ok, sla-warn, sla-breach or sla-stopped."""
    status = sla_state(lead, now).status
    return "sla-warn" if status == "warning" else f"sla-{status}"


@register.filter
def claim_lapsed(lead: Lead, now: datetime) -> bool:
    return lead.assignee_id is not None and not lead.claim_active(now)


@register.filter
def state_label(value: str) -> str:
    """A state as the reader's language names it, for event rows that store the raw value."""
    return str(Lead.State(value).label) if value in Lead.State.values else value


# A queue screen shows the same fifty numbers poll after poll; parsing one costs ~50 µs.
international_cached = lru_cache(maxsize=4096)(international)
register.filter("phone", international_cached)
register.filter("tel_uri", tel_uri)


@register.filter
def contact_fields(note: str) -> str:
    """A contact-change event's note (field names, never values) as the reader's labels."""
    labels = {field.name: field.verbose_name for field in Lead._meta.fields}
    labels["phone2"] = _("second phone")  # events written before the phones became points
    return ", ".join(str(labels.get(name, name)) for name in note.split(",") if name)


# The queue's row, as templates/leads/queue.html wrote it with one tag or filter per cell. Fifty
# rows of template nodes were most of the page's time (variable lookups, a {% url %}, five
# {% translate %} and seven filters per row); here the labels are looked up once per page and
# each row is one string format. The text is the template's, byte for byte (spaces included):
# tests/leads/test_queue.py compares the two.
_ROW = (
    '\n      <tr class="lead-row rank-{rank} {sla}" data-lead="{pk}" data-cursor="{cursor}">'
    '\n        <td class="due"><time datetime="{due}" data-due="{due}" data-now="{now}"'
    '\n          data-left-text="{left}" data-late-text="{late}" data-days-text="{days}">'
    "{due_in}</time></td>"
    '\n        <td><a href="{url}">{name}</a>{duplicate}{missed}</td>'
    "\n        <td>{contact}</td>"
    "\n        <td>{source}</td>"
    '\n        <td><span class="state {state}">{state_label}</span></td>'
    '\n        <td><span class="temp {temperature}">{temperature_label}</span></td>'
    "\n        <td>{assignee}</td>"
    "\n        <td>{arrived}</td>"
    "\n      </tr>\n    "
)
_PK = 987654321  # reversed once per page, replaced by each row's id


# Every queue screen's rows say "in 12 min", "3 h 5 min late"...: a few thousand texts per
# language, three catalogue look-ups each, cached for the process instead of per page.
@lru_cache(maxsize=8192)
def _due_html(minutes: int, language: str | None) -> str:
    with override(language):
        return escape(_due_text(minutes))


@register.simple_tag
def queue_rows(rows: Sequence, now: datetime) -> SafeString:
    """The queue's rows (leads.priority.Row, their SLA attached) as HTML."""
    zone = timezone.get_current_timezone()
    detail = reverse("leads:detail", args=[_PK]).split(str(_PK))
    labels = {
        "now": esc(now.isoformat()),
        "left": esc(_("in {time}")),
        "late": esc(_("{time} late")),
        "days": esc(_("{days} d")),
    }
    no_name = esc(_("(no name)"))
    duplicate = f' <span class="tag">{esc(_("duplicate"))}</span>'
    missed = f' <span class="tag missed">{esc(_("Missed call"))}</span>'
    nobody = '<span class="muted">—</span>'
    states = {value: esc(label) for value, label in Lead.State.choices}
    temperatures = {value: esc(label) for value, label in Lead.Temperature.choices}
    language = get_language()
    html = []
    for row in rows:
        lead = row.lead
        minutes = int((lead.due_at - now).total_seconds() // 60)
        due = escape(lead.due_at.isoformat())
        held = lead.assignee_id is not None and lead.claim_active(now)
        html.append(
            _ROW.format(
                rank=row.rank.name.lower(),
                sla=sla_status(lead, now),
                pk=lead.pk,
                cursor=escape(row.cursor),
                due=due,
                due_in=_due_html(minutes, language),
                url=f"{detail[0]}{lead.pk}{detail[1]}",
                name=escape(lead.name) if lead.name else no_name,
                duplicate=duplicate if lead.duplicate_of_id else "",
                missed=missed if lead.waiting_since else "",
                contact=escape(international_cached(lead.phone) or lead.email),
                source=escape(str(lead.source)),
                state=escape(lead.state),
                state_label=states.get(lead.state) or esc(lead.get_state_display()),
                temperature=escape(lead.temperature),
                temperature_label=temperatures.get(lead.temperature)
                or esc(lead.get_temperature_display()),
                assignee=escape(person(lead.assignee)) if held else nobody,
                arrived=timezone.localtime(lead.created_at, zone).strftime("%d.%m %H:%M"),
                **labels,
            )
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


@register.filter
def highlight(value: str, query: Query) -> str:
    """The value with what the search query matched in <mark> (leads.search.highlight_spans),
    every piece escaped."""
    return mark_safe(  # noqa: S308 - every piece is escaped here
        "".join(
            format_html("<mark>{}</mark>", piece) if marked else esc(piece)
            for piece, marked in highlight_spans(query, str(value or ""))
        )
    )
