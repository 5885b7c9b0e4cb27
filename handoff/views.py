from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deals.selectors import deal_get_for_user
from deals.services import DealConflict
from handoff import disputes
from handoff.disputes import disputes_visible_to
from handoff.forms import CommentForm, ConvertForm, DisputeForm, RulingForm
from handoff.models import Dispute
from handoff.services import lead_convert
from leads.selectors import lead_get_for_user
from leads.services import LeadConflict, TransitionBlocked, transition_blockers


@login_required
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the workspace's hand-off panel (loaded by htmx). POST: convert the lead."""
    lead = lead_get_for_user(request.user, pk)
    if request.method != "POST":
        return render(
            request,
            "handoff/convert_panel.html",
            {
                "lead": lead,
                "form": ConvertForm(lead=lead),
                "blockers": transition_blockers(lead, "convert"),
            },
        )
    form = ConvertForm(request.POST, lead=lead)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("leads:detail", pk=lead.pk)
    data = form.cleaned_data
    try:
        handoff = lead_convert(
            lead=lead,
            by=request.user,
            sales_team=data["sales_team"],
            closer=data["closer"],
            slot=data["slot"],
            address=data["address"],
        )
    except LeadConflict as conflict:
        messages.error(request, str(conflict))
    except TransitionBlocked as blocked:
        for reason in blocked.reasons:
            messages.error(request, reason)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Converted and handed off to %(team)s.") % {"team": handoff.team}
        )
    return redirect("leads:detail", pk=lead.pk)


def _dispute_for(request: HttpRequest, pk: int) -> Dispute:
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
def inbox(request: HttpRequest) -> HttpResponse:
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
def dispute(request: HttpRequest, pk: int, status: int = 200, **forms) -> HttpResponse:
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
            "attempts": lead.attempts.select_related("by"),
            "can_resolve": item.is_open and disputes.can_resolve(item, request.user),
            "can_comment": item.is_open and request.user.pk == item.handoff.qualifier_id,
            "ruling_form": forms.get("ruling_form") or RulingForm(),
            "comment_form": forms.get("comment_form") or CommentForm(),
        },
        status=status,
    )


@login_required
@require_POST
def dispute_raise(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    form = DisputeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("deals:detail", pk=deal.pk)
    try:
        item = disputes.dispute_raise(
            deal=deal,
            by=request.user,
            criterion=form.cleaned_data["criterion"],
            claim=form.cleaned_data["claim"],
        )
    except (DealConflict, PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("deals:detail", pk=deal.pk)
    messages.success(request, _("Dispute sent to the sales head."))
    return redirect("handoff:dispute", pk=item.pk)


@login_required
@require_POST
def dispute_comment(request: HttpRequest, pk: int) -> HttpResponse:
    item = _dispute_for(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return dispute(request, pk, status=400, comment_form=form)
    try:
        disputes.dispute_comment(dispute=item, by=request.user, text=form.cleaned_data["text"])
    except (DealConflict, PermissionDenied) as error:
        messages.error(request, str(error))
    return redirect("handoff:dispute", pk=pk)


@login_required
@require_POST
def dispute_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    item = _dispute_for(request, pk)
    form = RulingForm(request.POST)
    if not form.is_valid():
        return dispute(request, pk, status=400, ruling_form=form)
    try:
        disputes.dispute_resolve(
            dispute=item,
            by=request.user,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
        )
    except (DealConflict, PermissionDenied) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Ruling recorded."))
    return redirect("handoff:dispute", pk=pk)
