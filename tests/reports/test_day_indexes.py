"""The reports' live day reads everybody's calls and decisions of that day by their moment
alone: on PostgreSQL an index leads with it (`attempt_at`, `event_transition_at`, leads 0033),
where before a day's read scanned every call and event ever logged."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import ContactAttempt, LeadEvent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the index is PostgreSQL's (SQLite: a few rows)"
)


@pytest.mark.parametrize(
    ("model", "index"), [(ContactAttempt, "attempt_at"), (LeadEvent, "event_transition_at")]
)
def test_everybodys_calls_and_decisions_of_a_day_are_read_by_their_moment(world, model, index):
    # 100 days of four people's calls or decisions, analysed: on an empty table the planner's
    # pick between the indexes that hold the moment depends on what earlier tests left in
    # the statistics.
    from tests.factories import make_lead

    lead = make_lead(world.team)
    people = [world.qualifier, world.teammate, world.outsider, world.head]
    now = timezone.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    moments = [now - timedelta(days=n % 100, minutes=n % 7) for n in range(2000)]
    if model is ContactAttempt:
        rows = [
            ContactAttempt(
                lead=lead, by=people[n % 4], at=at, outcome=ContactAttempt.Outcome.NO_ANSWER
            )
            for n, at in enumerate(moments)
        ]
    else:
        rows = [
            LeadEvent(lead=lead, actor=people[n % 4], at=at, kind=LeadEvent.Kind.TRANSITION)
            for n, at in enumerate(moments)
        ]
    model.objects.bulk_create(rows)
    day = model.objects.filter(at__gte=start, at__lt=start + timedelta(days=1))
    if model is LeadEvent:
        day = day.filter(kind=LeadEvent.Kind.TRANSITION)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")
        plan = day.explain()
    assert index in plan


def test_a_days_breaches_by_team_read_no_lead(world):
    """The team report's breach hours of a day: one range of `deadline_breach_team`, the team
    read from the deadline's copy (Deadline.lead_team); the lead is looked up only for a row
    without the copy, and here there is none."""
    from crm.deadlines.models import Deadline
    from reports import rollups
    from tests.factories import make_lead

    now = timezone.now()
    for i in range(3):
        make_lead(world.team, now=now - timedelta(hours=2), phone=f"+7916123456{i}")
    raised = Deadline.objects.filter(kind="breach").update(raised_at=now, due_at=now)
    assert raised == 3
    day = timezone.localtime(now, world.team.zone).date()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test's table is tiny
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = rollups.breaches([world.team], [day], world.team.zone).explain(analyze=True)
    assert "deadline_breach_team" in plan
    assert "Join" not in plan and "Nested Loop" not in plan
    leads = [line for line in plan.splitlines() if "leads_lead" in line]
    assert leads and all("never executed" in line for line in leads)  # the subquery, unused
    found = [0] * 24
    for r in rollups.breaches([world.team], [day], world.team.zone):
        found[int(r["hour"])] += r["n"]
    assert sum(found) == 3
