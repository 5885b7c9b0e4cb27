"""One source of truth for a lead's SLA status (leads.alerts.sla_state): the queue's badge,
the workspace and "SLA now" say the same of every lead, a requested callback left overdue
included (the queue used to call it "stopped" while "SLA now" listed it in breach)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.deadlines.sweep import sweep
from leads import services
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def _arrive(world, name: str, phone: str, minutes_ago: float) -> Lead:
    return make_lead(
        world.team, name=name, phone=phone, now=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def leads(world) -> dict[str, Lead]:
    now = timezone.now()
    q = world.qualifier
    found = {
        "fresh": _arrive(world, "fresh", "+79160000001", 2),
        "warned": _arrive(world, "warned", "+79160000002", 17),
        "breached": _arrive(world, "breached", "+79160000003", 60),
        "called": _arrive(world, "called", "+79160000004", 60 * 3),
        "callback-later": _arrive(world, "callback-later", "+79160000005", 60 * 3),
        "callback-overdue": _arrive(world, "callback-overdue", "+79160000006", 60 * 3),
        "callback-due": _arrive(world, "callback-due", "+79160000007", 60 * 3),
    }
    at = now - timedelta(hours=2)
    services.lead_attempt_log(lead=found["called"], by=q, outcome="reached", now=at)
    for name, callback_at in (
        ("callback-later", now + timedelta(hours=1)),
        ("callback-overdue", now - timedelta(hours=1)),  # grace is 5 minutes: breached
        ("callback-due", now - timedelta(minutes=2)),  # due, within the grace: warning
    ):
        services.lead_attempt_log(
            lead=found[name], by=q, outcome="callback", callback_at=callback_at, now=at
        )
    sweep()
    return found


EXPECTED = {
    "fresh": "ok",
    "warned": "warning",
    "breached": "breach",
    "called": "stopped",
    "callback-later": "ok",
    "callback-overdue": "breach",
    "callback-due": "warning",
}


def _queue_badges(html: str) -> dict[int, str]:
    rows = re.findall(r'<tr class="lead-row [^"]*\bsla-(\w+)" data-lead="(\d+)"', html)
    return {int(pk): status for status, pk in rows}


def _sla_now(html: str) -> dict[int, str]:
    rows = re.findall(r'<tr class="sla-(\w+)">.*?href="/leads/(\d+)/"', html, re.S)
    return {int(pk): status for status, pk in rows}


def test_queue_workspace_and_sla_now_agree(client, world, leads):
    client.force_login(world.head)
    badges = _queue_badges(client.get(reverse("leads:queue")).content.decode())
    late = _sla_now(client.get(reverse("leads:sla")).content.decode())
    for name, lead in leads.items():
        expected = EXPECTED[name]
        assert badges[lead.pk] == {"warning": "warn"}.get(expected, expected), name
        assert late.get(lead.pk, "-") == (expected if expected in ("warning", "breach") else "-")
        page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        badge = {"warning": "warn"}.get(expected, expected)
        assert re.search(rf'<dd class="sla-{badge}">', page), name


def test_a_call_on_the_overdue_callback_stops_it_everywhere(client, world, leads):
    lead = leads["callback-overdue"]
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    client.force_login(world.head)
    assert _queue_badges(client.get(reverse("leads:queue")).content.decode())[lead.pk] == "stopped"
    assert lead.pk not in _sla_now(client.get(reverse("leads:sla")).content.decode())
