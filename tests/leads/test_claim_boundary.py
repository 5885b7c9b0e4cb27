"""One definition of "the claim is still active" (Lead.claim_active / claim_active_q): every
user of it sees the same edge. A claim whose expiry is exactly now is still held; a second
later it has lapsed. Each case is run against each place that asks."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import RequestFactory

from crm.deadlines.sweep import sweep
from crm.notifications.models import Notification
from leads import services
from leads.filters import QueueFilter
from leads.models import Lead
from leads.services import LeadConflict
from leads.templatetags.leads import claim_lapsed
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

ARRIVED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 12:00 in Moscow
NOW = ARRIVED + timedelta(minutes=15)  # the lead's callback warning falls due now

CASES = {
    "worked": (None, True),  # a call was logged: no expiry, held
    "live": (timedelta(seconds=1), True),
    "at-expiry": (timedelta(0), True),  # the expiry moment itself still counts as held
    "lapsed": (timedelta(seconds=-1), False),
    "unassigned": ("unassigned", False),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request, world) -> tuple[Lead, bool]:
    expires_in, held = CASES[request.param]
    lead = make_lead(world.team, now=ARRIVED)
    if expires_in != "unassigned":
        expires = None if expires_in is None else NOW + expires_in
        Lead.objects.filter(pk=lead.pk).update(
            assignee=world.qualifier, claimed_at=ARRIVED, claim_expires_at=expires
        )
    lead.refresh_from_db()
    assert lead.claim_active(NOW) is held  # the model's one row answer
    return lead, held


def test_querysets(case):
    lead, held = case
    one = Lead.objects.filter(pk=lead.pk)
    assert one.filter(Lead.claim_active_q(NOW)).exists() is held
    assert one.filter(Lead.claimable_q(NOW)).exists() is not held
    unworked = held and lead.claim_expires_at is not None
    assert one.filter(Lead.unworked_claim_q(NOW)).exists() is unworked


def test_the_sweeps_sql_tells_the_holder_or_the_team(case, world):
    _lead, held = case
    sweep(now=NOW)  # raises the callback warning: told to whoever holds the lead
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    assert told == ({"qualifier"} if held else {"qualifier", "teammate"})


def test_the_queue_filter_unassigned(case, world):
    lead, held = case
    request = RequestFactory().get("/", {"assignee": "nobody"})
    request.user = world.teammate
    with time_machine.travel(NOW, tick=False):
        found = QueueFilter(request.GET, queryset=Lead.objects.all(), request=request).qs
        assert (lead in found) is not held


def test_the_workspace_lapsed_badge(case):
    lead, held = case
    assert claim_lapsed(lead, NOW) is (lead.assignee_id is not None and not held)


def test_someone_else_logging_a_call(case, world):
    lead, held = case
    if held:
        with pytest.raises(LeadConflict):
            services.lead_attempt_log(lead=lead, by=world.teammate, outcome="reached", now=NOW)
    else:
        services.lead_attempt_log(lead=lead, by=world.teammate, outcome="reached", now=NOW)


def test_someone_else_pressing_take_next(case, world):
    lead, held = case
    taken = services.lead_claim_next(user=world.teammate, teams=[world.team], now=NOW)
    assert (taken is not None and taken.pk == lead.pk) is not held
