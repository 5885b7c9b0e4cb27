"""The callback deadlines of a lead: pure time arithmetic, `now` is always an input."""

from datetime import datetime, timedelta

from crm.teams.models import Team


def deadlines(arrived_at: datetime, team: Team) -> tuple[datetime, datetime]:
    """When a lead that arrived at `arrived_at` warns and when it breaches."""
    return (
        arrived_at + timedelta(minutes=team.sla_warn_minutes),
        arrived_at + timedelta(minutes=team.sla_breach_minutes),
    )
