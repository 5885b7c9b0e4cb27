from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from crm import access
from crm.teams.selectors import teams_for_user


class TeamTimeZoneMiddleware:
    """Show times in the user's team's zone (a Yekaterinburg team sees Yekaterinburg time).
    Read on each request, so a changed zone or membership applies at once; the same read
    answers the request's other questions about the user's teams (crm.access)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = None
        if request.user.is_authenticated:
            if access.is_admin(request.user):
                zone = (
                    teams_for_user(request.user)
                    .order_by("id")
                    .values_list("time_zone", flat=True)
                    .first()
                )
            else:
                # One read of the user's teams serves the rest of the request too (crm.access).
                seen = access.remember_teams_seen(request.user)
                zone = seen[0].time_zone if seen else None
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
