"""The workspace's call panel: the Call button (click-to-call) and the call's live state,
polled by htmx while the call is on."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.lib.http import AuthedRequest
from leads.models import Lead
from leads.selectors import lead_get_for_user
from leads.views import timeline as lead_timeline
from telephony import commands
from telephony.models import Call, Extension

# A call older than this is history, not the one the panel follows.
LIVE_WINDOW = timedelta(hours=2)


def _extension(request: AuthedRequest, lead: Lead) -> Extension | None:
    """The user's extension on a PBX of the lead's team that takes commands."""
    return (
        Extension.objects.filter(
            user=request.user,
            connection__team=lead.team,
            connection__active=True,
            connection__provider__in=["mango", "zadarma"],
        )
        .select_related("connection")
        .first()
    )


def _panel(
    request: AuthedRequest, lead: Lead, *, error: str = "", dialling: bool = False
) -> HttpResponse:
    now = timezone.now()
    call = (
        Call.objects.filter(lead=lead, started_at__gte=now - LIVE_WINDOW)
        .order_by("-started_at", "-pk")
        .first()
    )
    live = call is not None and call.state != Call.State.ENDED
    was_live = request.GET.get("live") == "1"
    context = {
        "lead": lead,
        "extension": _extension(request, lead),
        "call": call,
        "talking": _clock(now - call.answered_at) if live and call and call.answered_at else "",
        "poll": live or dialling,
        "error": error,
        "dialling": dialling and not live,
        # The call just ended: its attempt is on the timeline now, so the timeline is redrawn.
        "timeline": lead_timeline(lead) if was_live and not live else None,
    }
    return render(request, "telephony/call_panel.html", context)


def _clock(elapsed: timedelta) -> str:
    seconds = max(0, int(elapsed.total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


@login_required
@require_GET
def call_panel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _panel(request, lead_get_for_user(request.user, pk))


@login_required
@require_POST
def call_start(request: AuthedRequest, pk: int) -> HttpResponse:
    """Ask the PBX to ring the qualifier's phone, then the lead's."""
    lead = lead_get_for_user(request.user, pk)
    extension = _extension(request, lead)
    if extension is None or not lead.phone:
        return _panel(request, lead, error=_("There is no phone to call from or to."))
    try:
        commands.ring(extension.connection, extension.extension, lead.phone)
    except commands.PbxRefused as refused:
        return _panel(
            request, lead, error=_("The PBX refused the call: %(why)s") % {"why": refused}
        )
    return _panel(request, lead, dialling=True)
