from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.notifications.models import Notification
from crm.teams.models import Team
from deals.models import Deal, VisitSlot
from handoff.models import Dispute
from leads.models import Lead
from reports.calls import call_report
from reports.exports import team_report
from reports.forms import PeriodForm
from telephony.models import Call

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


def test_seed_demo_spans_two_whole_report_periods_with_real_movement(settings):
    """The report's default period (the last 30 days) and the one before both hold work, so
    the comparison moves: a faster reaction, more conversions, breaches in both."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo")
    form = PeriodForm.from_query({})
    assert form.is_valid()
    teams = list(Team.objects.filter(manager__username="head").order_by("kind"))
    report = {
        t["kind"]: t for t in team_report(teams, form.period(timezone.get_current_timezone()))
    }
    now, before = report["qualification"]["figures"], report["qualification"]["previous"]
    for figures in (now, before):
        assert figures["leads"] >= 50 and figures["converted"] >= 10 and figures["junk"] >= 10
        assert figures["won"] > 0 and figures["revenue"] > 0
        assert figures["breaches"]["total"] > 0
        # Calls come in working time: a reaction is minutes, not 0 for a night arrival.
        assert figures["reaction_median"] > 2
        assert len([w for w in figures["weekly"] if w["reaction_median"]]) >= 4
    assert now["reaction_median"] < before["reaction_median"]
    assert now["lead_to_handoff"] > before["lead_to_handoff"]
    sales_now, sales_before = report["sales"]["figures"], report["sales"]["previous"]
    assert sales_now["closed_won"] > 0 and sales_before["closed_won"] > 0
    # Nothing happens in the future: no deal closed or accepted after now.
    assert not Deal.objects.filter(closed_at__gt=timezone.now()).exists()
    assert not Deal.objects.filter(accepted_at__gt=timezone.now()).exists()
    # What was told before today has been read: the head's inbox starts at today's alerts.
    assert not Notification.objects.filter(
        read_at=None, created_at__lt=timezone.now() - timedelta(days=1)
    ).exists()


def test_seed_demo_in_russian_keeps_usernames_and_slugs_and_names_match_genders(settings):
    """`seed_demo --language ru`: what people read is Russian; the contract (usernames, slugs)
    is the same; a family name and a given name are of one gender; a second run in English
    finds the Russian teams instead of making more."""
    from faker.providers.person.ru_RU import Provider

    from deals.models import LossReason
    from leads.models import Criterion, CriterionOption, JunkReason, LeadSource

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", language="ru")
    assert set(Team.objects.values_list("name", flat=True)) == {"Колл-центр", "Продажи в салоне"}
    assert Criterion.objects.get(slug="kitchen-type").question == "Кухня на заказ или модульная?"
    assert CriterionOption.objects.get(value="custom").label == "На заказ"
    assert JunkReason.objects.get(slug="spam").name == "Спам"
    assert LossReason.objects.get(slug="price").name == "Слишком дорого"
    assert LeadSource.objects.get(slug="website").name == "Форма на сайте"
    assert set(Team.objects.filter(manager__username="head").values_list("kind", flat=True)) == {
        "qualification",
        "sales",
    }

    female_first, female_last = set(Provider.first_names_female), set(Provider.last_names_female)
    for name in Lead.objects.values_list("name", flat=True):
        last, first = name.split(" ", 1)
        assert (last in female_last) == (first in female_first), name

    teams = Team.objects.count()
    call_command("seed_demo", language="en")
    assert Team.objects.count() == teams


def test_seed_demo_calls_show_the_norm_in_the_call_metrics(settings):
    """The call centre's PBX carried its calls: the metrics read them, with the seeds' norm of
    45 reached calls a day of 30 s or more, met on some days and missed on others."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo")
    team = Team.objects.get(manager__username="head", kind="qualification")
    assert (team.call_norm_per_day, team.call_norm_seconds) == (45, 30)
    form = PeriodForm.from_query({})
    assert form.is_valid()
    [report] = call_report([team], form.period(timezone.get_current_timezone()), timezone.now())
    assert report["source"] == "pbx"
    people = {q["username"]: q["figures"] for q in report["qualifiers"]}
    for username in ("qualifier", "qualifier2"):
        figures = people[username]
        assert figures["working_days"] >= 20
        assert 0 < figures["days_norm_met"] < figures["working_days"]
        assert figures["calls_received"] > 0 and figures["calls_per_decision"]
    assert people["qualifier"]["days_norm_met"] > people["qualifier2"]["days_norm_met"]
    calls = Call.objects.count()
    call_command("seed_demo")
    assert Call.objects.count() == calls
