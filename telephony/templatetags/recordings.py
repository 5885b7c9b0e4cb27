"""The recording player, for pages of the apps below and above telephony: the lead's timeline
(leads imports nothing of telephony, its template loads this tag), the deal's handed-over panel
and the dispute page."""

from django import template

from leads.models import ContactAttempt
from telephony.models import Call
from telephony.recordings import kept_days

register = template.Library()


@register.inclusion_tag("telephony/recording_player.html")
def recording_player(attempt: ContactAttempt | None) -> dict:
    """A player for the call that wrote (or completed) this attempt, when its recording is
    kept; a note when the retention sweep deleted it; nothing otherwise. The pages fetch the
    call with the attempt (select_related "call"): one query a page, not one an attempt."""
    call: Call | None = getattr(attempt, "call", None)  # None: no attempt, or no call of it
    gone = call is not None and call.recording_deleted_at is not None
    return {"call": call, "gone": gone, "days": kept_days(call) if gone and call else 0}
