"""A missed call lifts its lead to the top of the queue until we call back (leads/services.py
lead_missed_call; the rank is leads/priority.py's MISSED)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads import priority, services
from leads.models import Lead, LeadEvent
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def _rank(world, lead: Lead) -> str:
    rows, _ = priority.queue_page(Lead.objects.all(), world.qualifier, timezone.now())
    return {row.lead.pk: row.rank.name for row in rows}[lead.pk]


def test_a_missed_call_lifts_an_open_lead_until_we_call_back(world):
    now = timezone.now()
    lead = make_lead(world.team, phone="+79161234567", now=now - 3 * MINUTE)

    assert services.lead_missed_call(lead=lead, at=now - MINUTE, note="+79161234567")

    lead.refresh_from_db()
    assert lead.waiting_since == now - MINUTE
    assert _rank(world, lead) == "MISSED"
    assert lead.events.filter(kind=LeadEvent.Kind.MISSED_CALL).count() == 1
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="no_answer", now=now)
    lead.refresh_from_db()
    assert lead.waiting_since is None


def test_a_missed_call_older_than_our_last_call_lifts_nothing(world):
    now = timezone.now()
    lead = make_lead(world.team, phone="+79161234567", now=now - 30 * MINUTE)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="no_answer", now=now)

    # The PBX's event arrives late: we already called after it.
    assert not services.lead_missed_call(lead=lead, at=now - MINUTE)

    lead.refresh_from_db()
    assert lead.waiting_since is None


def test_the_earliest_missed_call_counts_and_a_replay_lifts_once(world):
    now = timezone.now()
    lead = make_lead(world.team, phone="+79161234567", now=now - 30 * MINUTE)

    assert services.lead_missed_call(lead=lead, at=now - 2 * MINUTE)
    assert not services.lead_missed_call(lead=lead, at=now - 2 * MINUTE)
    services.lead_missed_call(lead=lead, at=now - 9 * MINUTE)

    lead.refresh_from_db()
    assert lead.waiting_since == now - 9 * MINUTE


def test_a_lead_its_qualifier_holds_becomes_due_for_them(world):
    now = timezone.now()
    lead = make_lead(world.team, phone="+79161234567", now=now - 60 * MINUTE)
    services.lead_attempt_log(
        lead=lead,
        by=world.qualifier,
        outcome="callback",
        callback_at=now + 120 * MINUTE,
        now=now - 30 * MINUTE,
    )

    services.lead_missed_call(lead=lead, at=now - MINUTE)

    lead.refresh_from_db()
    assert lead.due_at == now - MINUTE
    assert _rank(world, lead) == "MINE"


def test_a_closed_lead_is_not_lifted(world):
    now = timezone.now()
    lead = make_lead(world.team, phone="+79161234567", now=now - 60 * MINUTE)
    Lead.objects.filter(pk=lead.pk).update(state=Lead.State.JUNK)

    assert not services.lead_missed_call(lead=lead, at=now)
