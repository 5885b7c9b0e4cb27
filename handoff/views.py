from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handoff.forms import ConvertForm
from handoff.services import lead_convert
from leads.selectors import lead_get_for_user
from leads.services import LeadConflict, TransitionBlocked


@login_required
@require_POST
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = ConvertForm(request.POST, lead=lead)
    if not form.is_valid():
        for error in form.errors.get("sales_team", []):
            messages.error(request, error)
        return redirect("leads:detail", pk=lead.pk)
    try:
        handoff = lead_convert(
            lead=lead, by=request.user, sales_team=form.cleaned_data["sales_team"]
        )
    except LeadConflict as conflict:
        messages.error(request, str(conflict))
    except TransitionBlocked as blocked:
        for reason in blocked.reasons:
            messages.error(request, reason)
    else:
        messages.success(
            request, _("Converted and handed off to %(team)s.") % {"team": handoff.team}
        )
    return redirect("leads:detail", pk=lead.pk)
