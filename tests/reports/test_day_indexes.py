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
    ("rows", "index"),
    [
        (ContactAttempt.objects.all(), "attempt_at"),
        (LeadEvent.objects.filter(kind=LeadEvent.Kind.TRANSITION), "event_transition_at"),
    ],
)
def test_everybodys_calls_and_decisions_of_a_day_are_read_by_their_moment(world, rows, index):
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    day = rows.filter(at__gte=start, at__lt=start + timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test's table is tiny
        plan = day.explain()
    assert index in plan
