"""Call metrics (issue 17.5) on hand-built calls: the N-second boundary, the team's own day,
another team's calls, a qualifier in two teams, typed attempts where no PBX is connected, the
first call measured from the PBX's real start; the page, both CSVs and the API agree; only
those who may read person reports read them."""

import csv
import io
import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from crm.teams.models import Team
from leads import services
from leads.models import JunkReason
from reports import calls
from reports.periods import Period
from telephony import services as telephony
from telephony.events import CallEvent, Kind
from telephony.models import Call, Extension, PbxConnection
from tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db

YEKT = ZoneInfo("Asia/Yekaterinburg")  # UTC+5 all year: a local day is not Moscow's or UTC's
NOW = datetime(2026, 11, 20, 12, tzinfo=YEKT)
WEEK = "from=2026-11-02&to=2026-11-08"  # Monday to Sunday
_ids = iter(range(1, 10_000))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=YEKT)


def pbx(team: Team) -> PbxConnection:
    return PbxConnection.objects.create(team=team, provider="generic", api_secret="s")


def call(connection, user, started, talk_s=0, outcome="reached", direction="out", **fields):
    return Call.objects.create(
        connection=connection,
        pbx_call_id=f"c{next(_ids)}",
        direction=direction,
        state=Call.State.ENDED,
        started_at=started,
        ended_at=started,
        talk_s=talk_s,
        outcome=outcome,
        user=user,
        **fields,
    )


def week_of(team: Team) -> Period:
    return Period(date(2026, 11, 2), date(2026, 11, 8), team.zone)


def by_username(team_report: dict) -> dict:
    return {q["username"]: q for q in team_report["qualifiers"]}


@pytest.fixture
def yekt(world):
    """The world's team in Yekaterinburg, open Monday to Friday, norm 2 a day of 30 s+."""
    team = world.team
    team.time_zone, team.call_norm_seconds, team.call_norm_per_day = "Asia/Yekaterinburg", 30, 2
    team.save()
    for weekday in range(5):
        team.working_hours.create(weekday=weekday, opens=time(9), closes=time(18))
    return world


def test_pbx_calls_per_qualifier_on_the_boundaries(yekt):
    world = yekt
    a, b = pbx(world.team), pbx(world.other_team)
    q = world.qualifier
    world.other_team.members.add(q)  # one person in two teams
    call(a, q, at(2, 10), 30)  # exactly N seconds: counted
    call(a, q, at(2, 11), 29)  # N - 1: reached, not counted
    call(a, q, at(2, 23, 30), 120)  # Monday, 18:30 UTC
    call(a, q, at(3, 0, 10), 31)  # Tuesday in Yekaterinburg, still Monday in Moscow and UTC
    call(a, q, at(3, 12), 0, outcome="no_answer")
    call(a, q, at(4, 9), 60, direction="in")
    call(a, q, at(4, 9, 30), 0, outcome="no_answer", direction="in", missed=True)
    call(a, q, at(1, 23, 59), 100)  # the Sunday before: outside the period
    call(a, q, at(7, 10), 40)  # Saturday: counted, but no working day
    call(b, q, at(2, 10, 30), 50)  # the other team's PBX: not this team's call
    call(a, world.teammate, at(2, 10), 35)
    Call.objects.create(  # still ringing: no figure yet
        connection=a, pbx_call_id="live", direction="out", state="ringing", started_at=at(5, 10)
    )

    report = {
        t["id"]: t
        for t in calls.call_report([world.team, world.other_team], week_of(world.team), NOW)
    }
    mine = report[world.team.pk]
    assert mine["source"] == calls.PBX
    figures = by_username(mine)["qualifier"]["figures"]
    assert figures["calls_made"] == 6
    assert figures["calls_received"] == 2
    assert figures["calls_missed"] == 1
    assert figures["reached"] == 6
    assert figures["reached_long"] == 5
    assert figures["talk_s"] == 30 + 29 + 120 + 31 + 60 + 40
    assert figures["talk_s_average"] == round(310 / 6, 1)
    days = {d["date"].day: d for d in by_username(mine)["qualifier"]["days"]}
    assert [days[d]["reached_long"] for d in range(2, 9)] == [2, 1, 1, 0, 0, 1, 0]
    assert [days[d]["working"] for d in range(2, 9)] == [True] * 5 + [False] * 2
    assert days[2]["met"] and not days[3]["met"]
    assert (figures["working_days"], figures["days_norm_met"]) == (5, 1)
    team = mine["figures"]
    assert (team["calls_made"], team["reached_long"], team["talk_s"]) == (7, 6, 345)
    assert (team["working_days"], team["days_norm_met"]) == (10, 1)
    # In the other team the same person has that team's call only.
    theirs = by_username(report[world.other_team.pk])["qualifier"]["figures"]
    assert (theirs["calls_made"], theirs["reached_long"]) == (1, 1)
    assert set(by_username(report[world.other_team.pk])) == {"outsider", "qualifier"}
    # A member with no call has 0 calls received, not "unknown": the PBX would have told.
    outsider = by_username(report[world.other_team.pk])["outsider"]["figures"]
    assert (outsider["calls_received"], outsider["calls_missed"], outsider["talk_s"]) == (0, 0, 0)


def test_days_still_to_come_are_not_missed_working_days(yekt):
    pbx(yekt.team)
    today = datetime(2026, 11, 4, 12, tzinfo=YEKT)  # Wednesday
    [team] = calls.call_report([yekt.team], week_of(yekt.team), today)
    qualifier = by_username(team)["qualifier"]
    assert [d["date"].day for d in qualifier["days"]] == [2, 3, 4]
    assert qualifier["figures"]["working_days"] == 3


def test_the_norm_is_the_teams_own_setting(yekt):
    conn = pbx(yekt.team)
    for minute in range(3):
        call(conn, yekt.qualifier, at(2, 10, minute), 44)
    yekt.team.call_norm_seconds, yekt.team.call_norm_per_day = 45, 3
    yekt.team.save()
    [team] = calls.call_report([yekt.team], week_of(yekt.team), NOW)
    assert by_username(team)["qualifier"]["figures"]["reached_long"] == 0
    yekt.team.call_norm_seconds = 44
    yekt.team.save()
    [team] = calls.call_report([yekt.team], week_of(yekt.team), NOW)
    assert by_username(team)["qualifier"]["figures"]["days_norm_met"] == 1


def test_typed_attempts_where_no_pbx_is_connected(yekt):
    world, q = yekt, yekt.qualifier
    junk = JunkReason.objects.get(slug="spam")
    fast = make_lead(world.team, phone="+79160000001", now=at(2, 10))
    slow = make_lead(world.team, phone="+79160000002", now=at(2, 10))
    services.lead_attempt_log(lead=fast, by=q, outcome="no_answer", now=at(2, 10, 15))
    services.lead_attempt_log(lead=fast, by=q, outcome="reached", duration_s=30, now=at(2, 11))
    services.lead_junk(lead=fast, by=q, reason=junk, now=at(2, 11, 5))
    services.lead_attempt_log(lead=slow, by=q, outcome="reached", duration_s=29, now=at(2, 10, 25))
    services.lead_junk(lead=slow, by=q, reason=junk, now=at(2, 10, 30))

    [team] = calls.call_report([world.team], week_of(world.team), NOW)
    assert team["source"] == calls.TYPED
    figures = by_username(team)["qualifier"]["figures"]
    assert figures["calls_made"] == 3
    assert figures["calls_received"] is None and figures["calls_missed"] is None
    assert (figures["reached"], figures["reached_long"], figures["talk_s"]) == (2, 1, 59)
    assert figures["decided"] == 2 and figures["calls_per_decision"] == 1.5
    # First calls: 15 working minutes (within the team's 20) and 25 (not).
    assert (figures["first_calls"], figures["first_calls_within_sla"]) == (2, 1)
    assert figures["first_calls_within_sla_share"] == 50.0
    assert by_username(team)["teammate"]["figures"]["calls_made"] == 0


def test_first_call_is_measured_from_the_pbx_calls_real_start(yekt):
    """A 30-minute call that started 10 minutes after the lead arrived is within a 20-minute
    SLA: the clock stops when the call starts, not when the PBX reports its end."""
    world = yekt
    connection = pbx(world.team)
    Extension.objects.create(connection=connection, user=world.qualifier, extension="101")
    lead = make_lead(world.team, phone="+79160000003", now=at(2, 10))
    started, ended = at(2, 10, 10), at(2, 10, 40)
    for kind, moment in ((Kind.RINGING, started), (Kind.ENDED, ended)):
        event = CallEvent(
            call_id="real-1",
            kind=kind,
            at=moment,
            started_at=started,
            direction="out",
            customer="79160000003",
            extension="101",
            talk_s=1800 if kind == Kind.ENDED else 0,
            outcome="reached" if kind == Kind.ENDED else "",
        )
        telephony.record_event(connection, event)
    services.lead_junk(
        lead=lead, by=world.qualifier, reason=JunkReason.objects.get(slug="spam"), now=at(2, 10, 45)
    )
    [team] = calls.call_report([world.team], week_of(world.team), NOW)
    figures = by_username(team)["qualifier"]["figures"]
    assert (figures["first_calls"], figures["first_calls_within_sla"]) == (1, 1)
    assert (figures["reached_long"], figures["talk_s"]) == (1, 1800)
    assert figures["calls_per_decision"] == 1.0


def cells(body: str, code: str) -> list[str]:
    """The page's values of one figure, in the order of its columns."""
    row = re.search(rf'<tr data-metric="{code}">(.*?)</tr>', body, re.S)
    assert row, code
    return re.findall(r'<td class="now">([^<]*)</td>', row.group(1))


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_page_csvs_and_api_give_the_same_numbers(yekt):
    world = yekt
    conn = pbx(world.team)
    call(conn, world.qualifier, at(2, 10), 30)
    call(conn, world.qualifier, at(2, 10, 5), 95)
    call(conn, world.qualifier, at(3, 10), 29)
    call(conn, world.teammate, at(4, 10), 61, direction="in")
    client = _client(world.head)

    api = client.get(f"/api/v1/reports/calls/?{WEEK}").json()
    [team] = [t for t in api["teams"] if t["id"] == world.team.pk]
    assert team["source"] == "pbx" and team["norm_per_day"] == 2
    people = {"": team["figures"], **{q["username"]: q["figures"] for q in team["qualifiers"]}}

    machine = client.get(f"/api/v1/reports/calls/?{WEEK}&format=csv").content.decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(machine), delimiter=";"))
    assert parsed[0] == ["team", "source", "qualifier", "metric", "value"]
    for name, _source, who, metric, value in parsed[1:]:
        if name == team["name"] and ":" not in metric:
            expected = people[who][metric]
            assert value == ("" if expected is None else str(expected)), (who, metric)
    assert [team["name"], "pbx", "qualifier", "reached_long:2026-11-02", "2"] in parsed

    page = client.get(f"/reports/calls/?{WEEK}")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-team="{world.team.pk}"' in body
    header = re.findall(r"<th>([^<]*)</th>", body.split("<tbody>")[0].split("call-figures")[1])[1:]
    columns = [people[""], *(q["figures"] for q in team["qualifiers"])]
    assert header[0] == "whole team" and len(header) == len(columns)
    for code in ("calls_made", "calls_received", "reached", "reached_long", "days_norm_met"):
        assert cells(body, code) == [str(f[code]) for f in columns], code
    assert cells(body, "talk_s")[0] == "3:35"  # 30 + 95 + 29 + 61 seconds

    human = client.get(f"/reports/calls/?{WEEK}&format=csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(human)))
    assert rows[0] == ["Team", "Source", "Qualifier", "Metric", "Value"]
    qualifier = next(q for q in team["qualifiers"] if q["username"] == "qualifier")
    assert [team["name"], "PBX", qualifier["name"], "Reached calls of 30 s or more", "2"] in rows
    assert [team["name"], "PBX", "whole team", "Talk time, total, seconds", "215"] in rows


def test_the_russian_page_and_its_csv(yekt):
    pbx(yekt.team)
    client = _client(yekt.head)
    page = client.get(f"/reports/calls/?{WEEK}", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Норма" in page.content.decode()
    human = client.get(f"/reports/calls/?{WEEK}&format=csv", HTTP_ACCEPT_LANGUAGE="ru")
    assert human.content.decode("utf-8-sig").splitlines()[0].count(";") == 4


def test_who_reads_the_call_metrics(yekt):
    """As the person reports: the manager of a team (an admin: every team); a qualifier reads
    no report, not even their own figures (crm/access.py: reports are for those who manage)."""
    world = yekt
    head_b = UserFactory(username="head_b")
    world.other_team.manager = head_b
    world.other_team.save()
    assert _client(world.qualifier).get(f"/reports/calls/?{WEEK}").status_code == 403
    assert _client(world.qualifier).get(f"/api/v1/reports/calls/?{WEEK}").status_code == 403
    assert Client().get(f"/api/v1/reports/calls/?{WEEK}").status_code in (401, 403)
    api = _client(head_b).get(f"/api/v1/reports/calls/?{WEEK}").json()
    assert [t["id"] for t in api["teams"]] == [world.other_team.pk]
    page = _client(world.head).get(f"/reports/calls/?{WEEK}").content.decode()
    assert world.team.name in page and world.other_team.name not in page


def test_a_bad_period_is_a_400(yekt):
    client = _client(yekt.head)
    assert client.get("/reports/calls/?from=2026-11-09&to=2026-11-02").status_code == 400
    response = client.get("/api/v1/reports/calls/?to=0001-01-01&format=csv")
    assert response.status_code == 400 and "date_to" in response.json()


def test_the_api_json_is_what_its_serializer_gives(yekt):
    """The API writes its JSON directly (fast); the serializer is the published schema."""
    from reports.api import CallReportSerializer, call_report_json

    world = yekt
    conn = pbx(world.team)
    call(conn, world.qualifier, at(2, 10), 30)
    call(conn, world.teammate, at(4, 10), 61, direction="in")
    report = calls.call_report([world.team, world.other_team], week_of(world.team), NOW)
    data = {"from": date(2026, 11, 2), "to": date(2026, 11, 8), "teams": report}
    assert call_report_json(data) == CallReportSerializer(data).data


def days_url(team, user, period: str = WEEK) -> str:
    return f"/reports/calls/days/?{period}&team={team.pk}&qualifier={user.pk}"


def test_a_qualifiers_days_are_read_when_opened(yekt):
    """The page links each qualifier's "By day" (htmx fetches it on opening); the fragment
    holds the days the page's chart draws, the page no longer writes them."""
    world = yekt
    conn = pbx(world.team)
    call(conn, world.qualifier, at(2, 10), 30)
    call(conn, world.qualifier, at(2, 11), 95)
    client = _client(world.head)
    page = client.get(f"/reports/calls/?{WEEK}").content.decode()
    assert 'norm-days"' not in page and '<tr class="met">' not in page
    url = days_url(world.team, world.qualifier).replace("&", "&amp;")
    assert f'hx-get="{url}"' in page and f'href="{url}"' in page

    fragment = client.get(days_url(world.team, world.qualifier), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.startswith('<table class="norm-days">') and "<html" not in body
    rows = re.findall(r'<tr class="(\w+)"><td>([^<]*)</td><td>(\d+)</td>', body)
    assert rows[0] == ("met", "Mon 02.11", "2")
    kinds = [kind for kind, _day, _n in rows]
    assert kinds == ["met", "short", "short", "short", "short", "off", "off"]
    # Opened without a script: the same table in a page of its own, in Russian too.
    whole = client.get(days_url(world.team, world.qualifier), HTTP_ACCEPT_LANGUAGE="ru")
    assert whole.status_code == 200
    assert "<html" in whole.content.decode() and "выходной" in whole.content.decode()


def test_who_reads_a_qualifiers_days(yekt):
    """As the page: a head reads the days of their own teams' qualifiers only."""
    world = yekt
    head_b = UserFactory(username="head_b")
    world.other_team.manager = head_b
    world.other_team.save()
    head = _client(world.head)
    assert head.get(days_url(world.team, world.qualifier)).status_code == 200
    # another team's qualifier, in that team or named under the head's own team: not found
    assert head.get(days_url(world.other_team, world.outsider)).status_code == 404
    assert head.get(days_url(world.team, world.outsider)).status_code == 404
    assert head.get(days_url(world.sales, world.closer)).status_code == 404  # not qualification
    nobody = f"/reports/calls/days/?{WEEK}&team={world.team.pk}&qualifier=99999999999999999999"
    assert head.get(nobody).status_code == 404
    assert _client(head_b).get(days_url(world.other_team, world.outsider)).status_code == 200
    assert _client(head_b).get(days_url(world.team, world.qualifier)).status_code == 404
    assert _client(world.qualifier).get(days_url(world.team, world.qualifier)).status_code == 403
    assert Client().get(days_url(world.team, world.qualifier)).status_code == 302  # to log in


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"{WEEK}&team=x&qualifier=1",
        f"{WEEK}&team=1",
        f"{WEEK}&team=-1&qualifier=1",
        "from=2026-11-09&to=2026-11-02&team=1&qualifier=1",
        "from=0001-01-01&team=1&qualifier=1",
    ],
)
def test_bad_parameters_of_the_days_are_a_400(yekt, query):
    response = _client(yekt.head).get(f"/reports/calls/days/?{query}")
    assert response.status_code == 400
