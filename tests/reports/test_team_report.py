"""A hand-made week in which every figure is known in advance, checked against the page, the
CSV and the API. The period is 2–8 November 2026 in each team's own time zone."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.deadlines.sweep import sweep
from deals import services as deals
from deals.models import LossReason
from handoff import disputes
from handoff.services import lead_convert
from leads import services
from leads.models import JunkReason
from reports.people import insights, leaderboard, person_figures
from reports.periods import Period
from reports.selectors import qualification_figures, sales_figures
from tests.factories import UserFactory, make_criterion, make_lead

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-11-02", "to": "2026-11-08"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def week(world):
    """Moscow (UTC+3) call centre, its showroom, and a Yekaterinburg (UTC+5) team managed by
    someone else."""
    world.sales.assignment = "pool"
    world.sales.save()
    yekaterinburg = world.other_team
    yekaterinburg.time_zone = "Asia/Yekaterinburg"
    yekaterinburg.manager = UserFactory(username="other_head", role="Sales head")
    yekaterinburg.save()
    kitchen = make_criterion(required=False)
    spam = JunkReason.objects.get(slug="spam")
    price = LossReason.objects.create(name="Too expensive", slug="price")
    q, c, head = world.qualifier, world.closer, world.head

    def converted(arrived, minutes, seconds, phone):
        lead = make_lead(world.team, phone=phone, now=arrived)
        called = arrived + timedelta(minutes=minutes)
        services.lead_attempt_log(
            lead=lead, by=q, outcome="reached", duration_s=seconds, now=called
        )
        services.lead_answer(lead=lead, by=q, criterion=kitchen, value="custom", now=called)
        services.lead_check(lead=lead, by=q, now=called)
        return lead_convert(lead=lead, by=q, now=called + timedelta(minutes=1)).deal

    # In the period before: one lead, called in 5 minutes, junk.
    before = make_lead(world.team, phone="+79160000007", now=utc(2026, 10, 28, 7, 0))
    services.lead_attempt_log(
        lead=before, by=q, outcome="reached", duration_s=40, now=utc(2026, 10, 28, 7, 5)
    )
    services.lead_junk(lead=before, by=q, reason=spam, now=utc(2026, 10, 28, 7, 6))
    # 00:30 on Monday in Moscow (still Sunday in UTC): in the period; never called.
    make_lead(world.team, phone="+79160000005", now=utc(2026, 11, 1, 21, 30))
    # Monday 10:00: called in 10 minutes, converted, won.
    won = converted(utc(2026, 11, 2, 7, 0), 10, 60, "+79160000001")
    deals.deal_accept(deal=won, by=c, now=utc(2026, 11, 2, 9, 0))
    deals.deal_set_meeting(
        deal=won, by=c, at=utc(2026, 11, 4, 9, 0), address="Тверская, 1", now=utc(2026, 11, 2, 9, 5)
    )
    deals.deal_win(deal=won, by=c, amount=Decimal("300000.00"), now=utc(2026, 11, 5, 12, 0))
    # Tuesday: called in 18 minutes, converted, disputed (rejected), lost.
    lost = converted(utc(2026, 11, 3, 7, 0), 18, 45, "+79160000002")
    deals.deal_accept(deal=lost, by=c, now=utc(2026, 11, 3, 8, 0))
    dispute = disputes.dispute_raise(
        deal=lost, by=c, criterion=kitchen, claim="modular", now=utc(2026, 11, 3, 9, 0)
    )
    disputes.dispute_resolve(dispute=dispute, by=head, outcome="rejected", now=utc(2026, 11, 4, 9))
    deals.deal_lose(deal=lost, by=c, reason=price, now=utc(2026, 11, 6, 12, 0))
    # Wednesday 10:00: the breach is raised at 10:20, the call comes at 10:30 (20 s), junk.
    late = make_lead(world.team, phone="+79160000003", now=utc(2026, 11, 4, 7, 0))
    sweep(now=utc(2026, 11, 4, 7, 25))  # also raises the never-called lead's breach
    services.lead_attempt_log(
        lead=late, by=q, outcome="reached", duration_s=20, now=utc(2026, 11, 4, 7, 30)
    )
    services.lead_junk(lead=late, by=q, reason=spam, now=utc(2026, 11, 4, 7, 31))
    # 00:30 on Monday 9 November in Moscow (Sunday in UTC): after the period.
    make_lead(world.team, phone="+79160000006", now=utc(2026, 11, 8, 21, 30))
    # Yekaterinburg: 00:30 Monday local is inside its period; 01:30 on the 9th is not.
    make_lead(yekaterinburg, phone="+79160000008", now=utc(2026, 11, 1, 19, 30))
    make_lead(yekaterinburg, phone="+79160000009", now=utc(2026, 11, 8, 20, 30))
    return world


QUALIFICATION = {
    "leads": 4,
    "called": 3,
    "within_15": 1,
    "within_20": 2,
    "within_15_share": 33.3,
    "within_20_share": 66.7,
    "reaction_median": 18.0,
    "reaction_p90": 27.6,
    "new": 1,
    "checked": 0,
    "converted": 2,
    "junk": 1,
    "accepted": 2,
    "won": 1,
    "lead_to_handoff": 50.0,
    "handoff_to_accepted": 100.0,
    "handoff_to_won": 50.0,
    "lead_to_won": 25.0,
    "revenue": Decimal("300000.00"),
    "disputes": 1,
    "upheld": 0,
    "rejected": 1,
    "disputes_open": 0,
    "disputes_per_100": 50.0,
}
QUALIFICATION_BEFORE = {
    "leads": 1,
    "called": 1,
    "within_15_share": 100.0,
    "reaction_median": 5.0,
    "junk": 1,
    "converted": 0,
}
SALES = {
    "handoffs": 2,
    "accepted": 2,
    "won": 1,
    "returned": 0,
    "closed_won": 1,
    "closed_lost": 1,
    "win_rate": 50.0,
    "revenue": Decimal("300000.00"),
    "disputes": 1,
    "upheld": 0,
    "rejected": 1,
    "disputes_open": 0,
    "disputes_per_100": 50.0,
    "handoff_to_accepted": 100.0,
    "handoff_to_won": 50.0,
}


def same(api_value, value) -> bool:
    """JSON carries money as a number."""
    return float(api_value) == float(value) if isinstance(value, Decimal) else api_value == value


def period(team) -> Period:
    return Period(date(2026, 11, 2), date(2026, 11, 8), team.zone)


def test_every_qualification_figure(week):
    figures = qualification_figures(week.team, period(week.team))
    assert {k: figures[k] for k in QUALIFICATION} == QUALIFICATION
    assert figures["by_source"] == [("Website form", 4)]
    assert figures["junk_by_reason"] == [("Spam", 1)]
    assert figures["breaches"]["total"] == 2
    assert figures["breaches"]["hours"][0] == 1 and figures["breaches"]["hours"][10] == 1
    assert figures["breaches"]["weekdays"] == [1, 0, 1, 0, 0, 0, 0]
    assert [w["leads"] for w in figures["weekly"]] == [4]
    before = qualification_figures(week.team, period(week.team).previous())
    assert {k: before[k] for k in QUALIFICATION_BEFORE} == QUALIFICATION_BEFORE


def test_every_sales_figure(week):
    figures = sales_figures(week.sales, period(week.sales))
    assert {k: figures[k] for k in SALES} == SALES
    assert figures["closers"] == [
        {
            "closer": week.closer.get_full_name(),
            "won": 1,
            "lost": 1,
            "revenue": Decimal("300000.00"),
            "win_rate": 50.0,
        }
    ]


def test_days_are_counted_in_each_teams_time_zone(week):
    assert qualification_figures(week.other_team, period(week.other_team))["leads"] == 1


def test_person_figures(week):
    qualifier = person_figures(week.qualifier, period(week.team))["qualifier"]
    assert (qualifier["calls"], qualifier["reached_calls"], qualifier["first_calls"]) == (3, 2, 3)
    assert (qualifier["checked"], qualifier["converted"], qualifier["junk"]) == (2, 2, 1)
    assert (qualifier["reaction_median"], qualifier["handoffs"], qualifier["handoffs_won"]) == (
        18.0,
        2,
        1,
    )
    closer = person_figures(week.closer, period(week.team))["closer"]
    assert closer == {
        "accepted": 2,
        "won": 1,
        "lost": 1,
        "revenue": Decimal("300000.00"),
        "win_rate": 50.0,
        "disputes_rejected": 1,
    }


def test_leaderboard_points(week):
    board = leaderboard([week.team.pk, week.sales.pk], period(week.team))
    points = {row["person"]: row["points"] for row in board["people"]}
    qualifier, closer = week.qualifier.get_full_name(), week.closer.get_full_name()
    assert qualifier and closer  # people are named by their names, not their logins
    assert points == {qualifier: 2 * 1 + 2 * 2 + 2 * 5, closer: 10}
    assert board["chains"] == [
        {
            "qualifier": qualifier,
            "closer": closer,
            "handoffs": 2,
            "won": 1,
            "points": 2 * 5 + 10,
        }
    ]


def test_a_sales_teams_leaderboard_counts_its_wins(week):
    board = leaderboard([week.sales.pk], period(week.team))
    wins = {row["person"]: row["wins"] for row in board["people"]}
    assert wins[week.closer.get_full_name()] == 1


def test_answers_and_sources_that_predict(week):
    found = insights([week.team.pk], period(week.team))
    [answer] = found["answers"]
    assert (
        answer["label"],
        answer["deals"],
        answer["won"],
        answer["lost"],
        answer["win_rate"],
    ) == ("Custom", 2, 1, 1, 50.0)
    [source] = found["sources"]
    assert (source["leads"], source["junk_rate"], source["handoffs"], source["dispute_rate"]) == (
        4,
        25.0,
        2,
        50.0,
    )


def test_the_page_the_csv_and_the_api_agree(client, week):
    client.force_login(week.head)
    html = client.get(reverse("reports:teams"), PERIOD).content.decode()
    assert f'data-team="{week.team.pk}"' in html and f'data-team="{week.other_team.pk}"' not in html
    api = APIClient()
    api.force_authenticate(week.head)
    machine_csv = api.get("/api/v1/reports/teams/", {**PERIOD, "format": "csv"})
    rows = list(csv.reader(io.StringIO(machine_csv.content.decode("utf-8-sig")), delimiter=";"))
    from_csv = {(r[0], r[2]): r[3] for r in rows[1:]}
    data = api.get("/api/v1/reports/teams/", PERIOD).json()
    from_api = {t["name"]: t["figures"] for t in data["teams"]}
    assert set(from_api) == {week.team.name, week.sales.name}
    for key, value in QUALIFICATION.items():
        assert from_csv[(week.team.name, key)] == str(value), key
        assert same(from_api[week.team.name][key], value), key
        assert f'data-metric="{key}"' not in html or key in html
    for key, value in SALES.items():
        assert from_csv[(week.sales.name, key)] == str(value), key
    api_csv = api.get("/api/v1/reports/teams/", {**PERIOD, "format": "csv"})
    assert api_csv.status_code == 200
    assert api_csv.content.decode("utf-8-sig").splitlines()[0] == "team;kind;metric;value;previous"
    assert data["previous"] == {"from": "2026-10-26", "to": "2026-11-01"}


def test_page_shows_the_known_numbers(client, week):
    client.force_login(week.head)
    html = client.get(reverse("reports:teams"), PERIOD).content.decode()
    assert (
        '<tr data-metric="reaction_median"><th>Reaction, median (working minutes)</th>'
        '<td class="now">18.0' in html
    )
    assert (
        '<tr data-metric="within_warn_share"><th>Called within 15 minutes (warning)</th>'
        '<td class="now">33.3%' in html
    )


def test_a_sales_head_sees_only_the_teams_they_manage(client, week):
    other_head = week.other_team.manager
    api = APIClient()
    api.force_authenticate(other_head)
    names = [t["name"] for t in api.get("/api/v1/reports/teams/", PERIOD).json()["teams"]]
    assert names == [week.other_team.name]
    for user in (week.qualifier, week.closer):
        api.force_authenticate(user)
        assert api.get("/api/v1/reports/teams/", PERIOD).status_code == 403
        client.force_login(user)
        assert client.get(reverse("reports:teams")).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-11-09", "to": "2026-11-02"},
        {"from": "yesterday"},
        {"from": "2020-01-01", "to": "2026-01-01"},
    ],
)
def test_a_bad_period_is_a_clear_error(client, week, query):
    api = APIClient()
    api.force_authenticate(week.head)
    assert api.get("/api/v1/reports/teams/", query).status_code == 400
    client.force_login(week.head)
    assert client.get(reverse("reports:teams"), query).status_code == 400
