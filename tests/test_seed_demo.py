import pytest
from django.core.management import call_command

from crm.teams.models import Team
from deals.models import Deal, VisitSlot
from handoff.models import Dispute
from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_every_state_and_is_safe_to_run_twice(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo")
    states = set(Lead.objects.values_list("state", flat=True))
    assert states == {"new", "checked", "converted", "junk"}
    assert 180 <= Lead.objects.count() <= 220
    head_teams = Team.objects.filter(manager__username="head")
    assert set(head_teams.values_list("kind", flat=True)) == {"qualification", "sales"}
    stages = set(Deal.objects.values_list("stage", flat=True))
    assert {"handed_off", "accepted", "meeting", "won", "lost"} <= stages
    assert Dispute.objects.exists()
    assert VisitSlot.objects.filter(deal=None).exists()
    counts = (
        Lead.objects.count(),
        Deal.objects.count(),
        Team.objects.count(),
        VisitSlot.objects.count(),
    )
    call_command("seed_demo")
    assert (
        Lead.objects.count(),
        Deal.objects.count(),
        Team.objects.count(),
        VisitSlot.objects.count(),
    ) == counts
