"""Today's figures kept provisional by beat (reports/today.py): what a read adds up for the open
days equals the raw definitions as of the refresh; an entry too old, of another cut (SLA
minutes changed) or a cache that does not answer gives the live computation; the pages say
as of when."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm.teams.models import Team
from leads import services
from leads.models import LeadSource
from reports import people, person_rollups, rollups, tasks, today
from reports.exports import team_report
from reports.periods import Period
from tests.factories import UserFactory
from tests.reports.test_rollups import (  # noqa: F401 - `teams` is a fixture
    FIRST,
    LAST,
    PERSON_ZONES,
    Data,
    check,
    check_insights,
    check_people,
    teams,
)

pytestmark = pytest.mark.django_db

# The period's last day is today in every team's zone (Moscow 15:00, New York 07:00).
NOW = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
PERIOD = Period(FIRST, LAST, ZoneInfo("UTC"))


def as_of(report: list[dict]) -> dict[str, datetime | None]:
    return {team["name"]: team["today_as_of"] for team in report}


def without_as_of(report: list[dict]) -> list[dict]:
    return [{k: v for k, v in team.items() if k != "today_as_of"} for team in report]


def new_lead(team: Team, phone: str) -> None:
    services.lead_create(
        team=team,
        name="Now",
        phone=phone,
        source=LeadSource.objects.first(),
        now=NOW - timedelta(minutes=1),
    )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("seed", [1, 2])
def test_todays_kept_figures_equal_the_raw_definitions(teams, seed, clock):  # noqa: F811
    """Beat's figures of today, added up by the team report, are the raw definitions' (every
    figure of every team); a lead that arrives after the refresh counts from the next one, and
    an entry two refreshes old is not read (the day is computed live again)."""
    Data(seed, teams[:3], teams[3:])
    rollups.refresh()
    live = team_report(teams, PERIOD)
    assert set(as_of(live).values()) == {None}
    check(live, FIRST, LAST)

    kept = tasks.refresh_today()
    assert kept["team_days"] == len(rollups.groups(teams))  # one entry per zone and kind
    report = team_report(teams, PERIOD)
    assert set(as_of(report).values()) == {NOW}
    assert without_as_of(report) == without_as_of(live)
    check(report, FIRST, LAST)

    new_lead(teams[0], "+79165550001")
    assert team_report(teams, PERIOD)[0]["figures"]["leads"] == live[0]["figures"]["leads"]
    clock.shift(timedelta(seconds=30))
    tasks.refresh_today()
    report = team_report(teams, PERIOD)
    assert report[0]["figures"]["leads"] == live[0]["figures"]["leads"] + 1
    assert report[0]["today_as_of"] == NOW + timedelta(seconds=30)
    check(report, FIRST, LAST)

    new_lead(teams[0], "+79165550002")
    clock.shift(today.max_age() + timedelta(seconds=1))  # beat stopped
    report = team_report(teams, PERIOD)
    assert set(as_of(report).values()) == {None}
    assert report[0]["figures"]["leads"] == live[0]["figures"]["leads"] + 2
    check(report, FIRST, LAST)


def test_a_team_whose_sla_changed_is_read_live(teams, clock):  # noqa: F811
    """The within-SLA counts depend on the team's minutes: an entry computed with other
    minutes is not read for its teams (the other zones' still are)."""
    Data(3, teams[:3], teams[3:])
    rollups.refresh()
    tasks.refresh_today()
    moscow = Team.objects.get(pk=teams[0].pk)
    moscow.sla_warn_minutes = 25
    moscow.save()  # its rows dropped (reports/signals.py); today's entry is of the old minutes
    report = team_report(list(Team.objects.filter(pk__in=[t.pk for t in teams])), PERIOD)
    assert as_of(report) == {
        "Moscow": None,
        "New York": NOW,
        "Yekaterinburg": NOW,
        "Showroom": NOW,
        "Showroom NY": NOW,
    }
    check(report, FIRST, LAST)


def test_a_cache_that_does_not_answer_leaves_today_live(teams, clock, settings):  # noqa: F811
    """Redis down: beat keeps nothing and says so in the log, the reads compute today from
    the raw rows, with the same figures."""
    Data(4, teams[:3], teams[3:])
    rollups.refresh()
    expected = team_report(teams, PERIOD)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    tasks.refresh_today()
    assert team_report(teams, PERIOD) == expected
    assert people.leaderboard([t.pk for t in teams], PERIOD)["today_as_of"] is None
    assert people.insights([t.pk for t in teams], PERIOD)["today_as_of"] is None


@pytest.mark.parametrize("seed", [1, 2])
def test_the_leaderboard_and_insights_add_up_the_kept_day(teams, seed, clock):  # noqa: F811
    """The person and insight entries give the raw definitions too (every person figure, every
    board and both insight tables, four sets of teams), in the zones that have entries."""
    data = Data(seed, teams[:3], teams[3:])
    person_rollups.refresh()
    tasks.refresh_today()
    kept = [zone.key for zone in person_rollups.zones()]
    for zone in kept:
        period = Period(FIRST, LAST, ZoneInfo(zone))
        assert people.leaderboard([teams[0].pk], period)["today_as_of"] == NOW
        assert people.insights([teams[0].pk], period)["today_as_of"] == NOW
        assert people.insights([teams[0].pk], period.previous())["today_as_of"] is None
    check_people(data, teams, PERSON_ZONES)
    check_insights(teams, PERSON_ZONES)


@pytest.mark.parametrize(
    ("language", "words"), [("en", "Today's figures as of"), ("ru", "Данные за сегодня — на")]
)
def test_the_pages_say_as_of_when(teams, clock, client, language, words):  # noqa: F811
    """The team report, the leaderboard and the insights say the time their today is as of,
    in the reader's zone (Moscow: 15:00); a period without today says nothing."""
    Data(5, teams[:3], teams[3:])
    admin = UserFactory(is_superuser=True, is_staff=True)
    for team in teams:
        team.members.add(admin)
    client.force_login(admin)
    pages = [reverse("reports:teams"), reverse("reports:leaderboard"), reverse("reports:insights")]
    for url in pages:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert 'id="today-as-of"' not in html  # nothing kept yet: read live
    tasks.refresh_today()
    for url in pages:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert 'id="today-as-of"' in html, url
        assert words in html and "15:00" in html, url
        past = client.get(url, {"from": "2026-10-01", "to": "2026-10-31"}).content.decode()
        assert 'id="today-as-of"' not in past


def test_beat_sums_the_default_view_before_a_head_asks(teams, clock, monkeypatch):  # noqa: F811
    """After the roll-ups' refresh the last 30 days and the 30 before are in the cache
    (team_totals.warm): a head's first read of the default view decodes no stored day."""
    Data(6, teams[:3], teams[3:])
    tasks.refresh_rollups()
    period = Period(LAST - timedelta(days=29), LAST, ZoneInfo("UTC"))
    with monkeypatch.context() as m:
        m.setattr(rollups, "loaded_days", lambda *a: pytest.fail("rows decoded on a read"))
        report = team_report(teams, period)
    check(report, period.first_day, period.last_day)
