"""The deadlines of a lead, in its team's working time: pure arithmetic, `now` is an input."""

from datetime import datetime

from crm.lib.business_time import WorkingWeek
from crm.teams.models import Team


def deadlines(arrived_at: datetime, team: Team, week: WorkingWeek) -> tuple[datetime, datetime]:
    """When a lead that arrived at `arrived_at` warns and when it breaches."""
    return (
        week.add(arrived_at, team.sla_warn_minutes),
        week.add(arrived_at, team.sla_breach_minutes),
    )


def callback_deadlines(
    callback_at: datetime, team: Team, week: WorkingWeek
) -> tuple[datetime, datetime]:
    """A requested callback is due at its time: the qualifier is warned then, and the manager
    told if it is still not made as long after as a new lead's breach follows its warning."""
    grace = team.sla_breach_minutes - team.sla_warn_minutes
    return callback_at, week.add(callback_at, grace)


def stall_deadlines(
    checked_at: datetime, team: Team, week: WorkingWeek
) -> tuple[datetime, datetime]:
    """When a lead left in `checked` reminds its qualifier, and when its manager hears."""
    return (
        week.add_days(checked_at, team.stalled_remind_days),
        week.add_days(checked_at, team.stalled_escalate_days),
    )
