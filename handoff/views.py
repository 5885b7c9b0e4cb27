from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import access
from crm.lib.http import AuthedRequest
from crm.lib.pages import act
from crm.teams.templatetags.people import person
from deals.models import Deal
from deals.selectors import deal_get_for_user, deals_visible_to
from handoff import disputes
from handoff.disputes import disputes_visible_to
from handoff.forms import CommentForm, ConvertForm, DisputeForm, RulingForm
from handoff.models import Dispute, Handoff
from handoff.services import lead_convert
from leads.models import Lead
from leads.selectors import lead_get_for_user
from leads.services import convert_condition_blockers, transition_blockers


@login_required
def convert(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the workspace's hand-off panel (loaded by htmx). POST: convert the lead."""
    lead = lead_get_for_user(request.user, pk)
    if request.method != "POST":
        return render(
            request,
            "handoff/convert_panel.html",
            {"lead": lead, "form": ConvertForm(lead=lead), "blockers": _convert_blockers(lead)},
        )
    form = ConvertForm(request.POST, lead=lead)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("leads:detail", pk=lead.pk)
    data = form.cleaned_data
    done: list[Handoff] = []

    def convert_lead() -> None:
        done.append(
            lead_convert(
                lead=lead,
                by=request.user,
                sales_team=data["sales_team"],
                closer=data["closer"],
                slot=data["slot"],
                address=data["address"],
            )
        )

    back = reverse("leads:detail", args=[lead.pk])
    response = act(request, convert_lead, done="", back=back)
    if done:
        messages.success(request, _handed_off(request, done[0]))
    return response


def _convert_blockers(lead: Lead) -> list[str]:
    """What stops Convert; for a lead not yet checked, also what will stop it once checked
    (a missing answer), so the qualifier asks for it while the customer is still on the line."""
    if lead.state != Lead.State.NEW:
        return transition_blockers(lead, "convert")
    return [_("Check the lead first."), *convert_condition_blockers(lead)]


def _handed_off(request: AuthedRequest, handoff: Handoff) -> str:
    """The conversion's outcome in one message: the deal (a link for whoever may open it),
    its closer or the pool, and the site visit booked, if one was."""
    deal = handoff.deal
    number = f"#{deal.pk}"
    if deals_visible_to(request.user).filter(pk=deal.pk).exists():
        number = format_html(
            '<a href="{}" id="deal-link">{}</a>', reverse("deals:detail", args=[deal.pk]), number
        )
    parts: list[str] = [
        format_html("{}", _("Converted and handed off to %(team)s.") % {"team": handoff.team})
    ]
    if deal.closer is not None:
        parts.append(
            format_html(
                _("Deal {deal}, closer: {closer}."), deal=number, closer=person(deal.closer)
            )
        )
    else:
        parts.append(format_html(_("Deal {deal} waits in the team's pool."), deal=number))
    if deal.meeting_at is not None:
        when = formats.date_format(timezone.localtime(deal.meeting_at), "D d.m.Y H:i")
        parts.append(
            format_html(
                _("Site visit booked: {when}, {address}."),
                when=when,
                address=deal.meeting_address,
            )
        )
    else:
        parts.append(_("No site visit booked yet."))
    return format_html_join(" ", "{}", ((part,) for part in parts))


def _dispute_for(request: AuthedRequest, pk: int) -> Dispute:
    dispute = (
        Dispute.objects.filter(disputes_visible_to(request.user), pk=pk)
        .select_related(
            "deal__team",
            "deal__lead",
            "deal__closer",
            "handoff__qualifier",
            "handoff__from_team",
            "raised_by",
            "resolved_by",
        )
        .first()
    )
    if dispute is None:
        raise Http404
    return dispute


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    """The sales head's dispute inbox: open ones first, then the latest rulings."""
    visible = Dispute.objects.filter(disputes_visible_to(request.user)).select_related(
        "deal__lead", "deal__closer", "handoff__qualifier"
    )
    return render(
        request,
        "handoff/disputes.html",
        {
            "open": visible.filter(outcome="").order_by("raised_at"),
            "resolved": visible.exclude(outcome="").order_by("-resolved_at")[:50],
        },
    )


@login_required
def dispute(request: AuthedRequest, pk: int, status: int = 200, **forms) -> HttpResponse:
    """Side by side: the qualifier's answers and call log, and the closer's claim."""
    item = _dispute_for(request, pk)
    lead = item.deal.lead
    return render(
        request,
        "handoff/dispute.html",
        {
            "dispute": item,
            "lead": lead,
            "answers": lead.answers.order_by("answered_at"),
            "attempts": lead.attempts.select_related("by", "call"),
            "can_resolve": item.is_open and access.may_rule(request.user, item),
            "can_comment": item.is_open and access.may_comment_dispute(request.user, item),
            "ruling_form": forms.get("ruling_form") or RulingForm(),
            "comment_form": forms.get("comment_form") or CommentForm(),
        },
        status=status,
    )


@login_required
def dispute_raise(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the deal page's dispute box (loaded by htmx: the deals app imports nothing from
    this one). POST: the closer disputes the handoff."""
    deal = deal_get_for_user(request.user, pk)
    if request.method != "POST":
        return _dispute_box(request, deal)
    access.require(access.may_dispute(request.user, deal))
    form = DisputeForm(request.POST)
    if not form.is_valid():  # the box is a part of the deal page: its errors are shown there
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("deals:detail", pk=deal.pk)
    raised: list[Dispute] = []

    def raise_dispute() -> None:
        raised.append(
            disputes.dispute_raise(
                deal=deal,
                by=request.user,
                criterion=form.cleaned_data["criterion"],
                claim=form.cleaned_data["claim"],
            )
        )

    response = act(
        request,
        raise_dispute,
        done=_("Dispute sent to the sales head."),
        back=reverse("deals:detail", args=[deal.pk]),
    )
    return redirect("handoff:dispute", pk=raised[0].pk) if raised else response


def _dispute_box(request: HttpRequest, deal: Deal) -> HttpResponse:
    now = timezone.now()
    handoff = getattr(deal, "handoff", None)
    context = {
        "deal": deal,
        "dispute": getattr(deal, "dispute", None),
        "form": DisputeForm(deal=deal),
        "may_dispute": handoff is not None
        and access.may_dispute(request.user, deal)
        and not disputes.dispute_blockers(deal, now),
        "until": disputes.dispute_deadline(deal) if handoff is not None else None,
    }
    return render(request, "handoff/dispute_box.html", context)


@login_required
@require_POST
def dispute_comment(request: AuthedRequest, pk: int) -> HttpResponse:
    item = _dispute_for(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return dispute(request, pk, status=400, comment_form=form)
    return act(
        request,
        lambda: disputes.dispute_comment(
            dispute=item, by=request.user, text=form.cleaned_data["text"]
        ),
        done=_("Comment sent."),
        back=reverse("handoff:dispute", args=[pk]),
        page=lambda status: dispute(request, pk, status=status, comment_form=form),
        form=form,
    )


@login_required
@require_POST
def dispute_resolve(request: AuthedRequest, pk: int) -> HttpResponse:
    item = _dispute_for(request, pk)
    form = RulingForm(request.POST)
    if not form.is_valid():
        return dispute(request, pk, status=400, ruling_form=form)
    return act(
        request,
        lambda: disputes.dispute_resolve(
            dispute=item,
            by=request.user,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
        ),
        done=_("Ruling recorded."),
        back=reverse("handoff:dispute", args=[pk]),
        page=lambda status: dispute(request, pk, status=status, ruling_form=form),
        form=form,
    )
