"""The call report from its roll-ups (reports/call_rollups.py) equals the report computed from
the raw calls as it was before them (tests/reports/raw_calls.py), on random data: PBX calls and
typed attempts over six weeks in three time zones (New York leaves summer time inside the
period), calls on the stroke of local midnight and on the norm's and the SLA's edges, calls of
nobody, decisions at a call's very moment; with nothing built, built, after late writes (each
marks the days it changes), and after the team's norm, SLA minutes or PBX change."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from crm.teams.models import Team
from leads.models import ContactAttempt, Lead, LeadEvent, LeadSource
from reports import call_rollups, calls
from reports.models import CallDay, CallDirtyDay
from reports.periods import Period
from telephony.models import Call, PbxConnection
from tests.factories import TeamFactory, UserFactory
from tests.reports import raw_calls

pytestmark = pytest.mark.django_db

FIRST, LAST = date(2026, 10, 20), date(2026, 11, 8)  # New York leaves summer time on 1 Nov
DATA_FROM, DATA_TO = datetime(2026, 10, 12, tzinfo=UTC), datetime(2026, 11, 12, tzinfo=UTC)
DECISIONS = ("converted", "junk", "junk", "checked")


class Data:
    """Random leads, typed attempts, PBX calls and decisions in three teams."""

    def __init__(self, seed: int, teams: list[Team]) -> None:
        self.rnd = rnd = random.Random(seed)
        self.teams = teams
        self.people = [UserFactory() for _ in range(len(teams) + 1)]
        for i, team in enumerate(teams):
            team.members.add(self.people[i], self.people[i + 1])
        self.outsider = UserFactory()  # on a PBX's extension map, in no team
        source = LeadSource.objects.get_or_create(
            slug="web", defaults={"name": "Website", "channel": "web_form"}
        )[0]
        self.pbx = {
            team.pk: PbxConnection.objects.create(team=team, provider="generic", api_secret="s")
            for team in teams
        }
        # New York and New York 2: typed.
        PbxConnection.objects.filter(team__in=[teams[1], teams[4]]).update(active=False)
        self.leads: list[Lead] = []
        for i in range(120):
            team = rnd.choice(teams)
            arrived = self.moment(team.zone)
            lead = Lead.objects.create(
                team=team,
                source=source,
                name=f"Lead {i}",
                phone=f"+7916{i:07d}",
                imported_history=rnd.random() < 0.07,
                created_at=arrived,
                due_at=arrived,
                warn_at=arrived,
                breach_at=arrived,
            )
            self.leads.append(lead)
            self.attempts(lead)
            self.decisions(lead)
        for team in teams:
            for _ in range(60):
                self.pbx_call(team)

    def moment(self, zone: ZoneInfo, after: datetime | None = None) -> datetime:
        """A moment of the data's span; a fifth on the stroke of a local midnight."""
        start = after or DATA_FROM
        at = start + (DATA_TO - start) * self.rnd.random()
        if self.rnd.random() < 0.2:
            local = at.astimezone(zone)
            at = datetime.combine(local.date(), time(0), tzinfo=zone)
            at = at if at >= start else at + timedelta(days=1)
        return at.replace(microsecond=0)

    def seconds(self, team: Team) -> int:
        norm = team.call_norm_seconds
        return self.rnd.choice([0, norm - 1, norm, norm + 1, self.rnd.randint(1, 300)])

    def attempts(self, lead: Lead) -> None:
        team = lead.team
        moments = sorted(
            self.moment(team.zone, lead.created_at) for _ in range(self.rnd.randint(0, 3))
        )
        if moments and self.rnd.random() < 0.2:
            moments.insert(0, moments[0])  # two people's first calls at one moment
        for at in moments:
            ContactAttempt.objects.create(
                lead=lead,
                by=self.rnd.choice(self.people),
                at=at,
                outcome=self.rnd.choice(["reached", "reached", "no_answer", "busy"]),
                duration_s=self.seconds(team),
            )
        if moments:
            sla = team.sla_breach_minutes
            lead.first_attempt_at = moments[0]
            lead.reaction_minutes = self.rnd.choice([0, sla - 1, sla, sla + 1, 240])
            lead.save(update_fields=["first_attempt_at", "reaction_minutes"])

    def decisions(self, lead: Lead) -> None:
        if self.rnd.random() < 0.3:
            return
        calls = list(ContactAttempt.objects.filter(lead=lead).values_list("at", flat=True))
        at = self.moment(lead.team.zone, lead.created_at)
        if calls and self.rnd.random() < 0.3:
            at = self.rnd.choice(calls)  # at a call's very moment: that call counts
        LeadEvent.objects.create(
            lead=lead,
            actor=self.rnd.choice([*self.people, None]),
            at=at,
            kind=LeadEvent.Kind.TRANSITION,
            from_state="new",
            to_state=self.rnd.choice(DECISIONS),
        )

    def pbx_call(self, team: Team, started: datetime | None = None, **fields) -> Call:
        direction = self.rnd.choice(["in", "out", "out"])
        outcome = self.rnd.choice(["reached", "reached", "no_answer", "busy"])
        values = {
            "connection": self.pbx[team.pk],
            "pbx_call_id": f"c{Call.objects.count()}",
            "direction": direction,
            "state": Call.State.ENDED if self.rnd.random() < 0.9 else Call.State.RINGING,
            "started_at": started or self.moment(team.zone),
            "talk_s": self.seconds(team),
            "outcome": outcome,
            "missed": direction == "in" and outcome != "reached",
            "user": self.rnd.choice([*self.people, self.outsider, None]),
            "lead": self.rnd.choice([*self.leads, None, None]),
            **fields,
        }
        return Call.objects.create(**values)


@pytest.fixture
def teams(db) -> list[Team]:
    return [
        TeamFactory(name="Moscow", time_zone="Europe/Moscow", sla_breach_minutes=20),
        TeamFactory(
            name="New York",
            time_zone="America/New_York",
            sla_breach_minutes=33,
            call_norm_seconds=45,
        ),
        TeamFactory(name="Yekaterinburg", time_zone="Asia/Yekaterinburg", call_norm_seconds=60),
        # Counted in one pass of queries with Moscow, and with New York: each by its own
        # norm and SLA.
        TeamFactory(
            name="Moscow 2", time_zone="Europe/Moscow", sla_breach_minutes=25, call_norm_seconds=50
        ),
        TeamFactory(
            name="New York 2",
            time_zone="America/New_York",
            sla_breach_minutes=10,
            call_norm_seconds=20,
        ),
    ]


def check(teams: list[Team]) -> None:
    """Both periods (one of closed days, one up to today) as the raw report gives them, with
    the teams as they are now."""
    fresh = list(Team.objects.filter(pk__in=[t.pk for t in teams]).order_by("pk"))
    now = timezone.now()
    today = timezone.localdate(now)
    for first, last in ((FIRST, LAST), (DATA_FROM.date() - timedelta(days=2), today)):
        period = Period(first, last, ZoneInfo("UTC"))
        assert calls.call_report(fresh, period, now) == raw_calls.call_report(fresh, period, now)


def local(moment: datetime, team: Team) -> date:
    return timezone.localtime(moment, team.zone).date()


def decided_lead(team: Team) -> LeadEvent:
    """A decision of the team's whose day is in the period, weeks old."""
    return (
        LeadEvent.objects.filter(
            lead__team=team,
            to_state__in=["converted", "junk"],
            at__gte=datetime(2026, 10, 25, tzinfo=UTC),
        )
        .order_by("at")
        .first()
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_call_rollups_equal_the_raw_report(teams, seed, django_capture_on_commit_callbacks):
    data = Data(seed, teams)
    moscow, new_york, yekt, moscow_2, new_york_2 = teams
    check(teams)  # nothing built: every day from the raw rows

    assert call_rollups.refresh()["call_days"] > 5 * 28
    assert not CallDirtyDay.objects.exists()
    check(teams)

    # Late writes mark the days they change, read live until the job rebuilds them.
    event = decided_lead(new_york)
    old = event.at - timedelta(days=2, minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        # A typed attempt with a past time: its day, and its lead's decision (one more call).
        ContactAttempt.objects.create(
            lead=event.lead, by=data.people[1], at=old, outcome="reached", duration_s=50
        )
    marked = set(CallDirtyDay.objects.filter(team=new_york).values_list("day", flat=True))
    assert {local(old, new_york), local(event.at, new_york)} <= marked
    check(teams)

    event = decided_lead(moscow)
    with django_capture_on_commit_callbacks(execute=True):
        # A PBX call logged late, of a lead Moscow decided after it.
        data.pbx_call(
            moscow, started=event.at - timedelta(hours=30), lead=event.lead, state=Call.State.ENDED
        )
        # A decision logged late.
        LeadEvent.objects.create(
            lead=data.leads[0],
            actor=data.people[0],
            at=DATA_FROM + timedelta(days=12),
            kind=LeadEvent.Kind.TRANSITION,
            from_state="new",
            to_state="junk",
        )
    assert CallDirtyDay.objects.filter(team=moscow, day=local(event.at, moscow)).exists()
    check(teams)

    # The PBX completes a typed attempt: its time moves to the call's start, a day earlier,
    # and so does the lead's first call.
    attempt = ContactAttempt.objects.filter(
        lead__team=yekt, lead__imported_history=False, at__gte=datetime(2026, 10, 25, tzinfo=UTC)
    ).first()
    lead = attempt.lead
    with django_capture_on_commit_callbacks(execute=True):
        if lead.first_attempt_at == attempt.at:
            lead.first_attempt_at = attempt.at - timedelta(days=1)
            lead.save(update_fields=["first_attempt_at", "reaction_minutes"])
        attempt.at -= timedelta(days=1)
        attempt.save(update_fields=["at", "duration_s"])
    check(teams)

    written = call_rollups.refresh()["call_days"]
    assert 0 < written < 30  # only the marked days
    assert not CallDirtyDay.objects.exists()
    check(teams)

    # A team's norm seconds, SLA minutes or source change: its rows are another cut's, not
    # read, and rebuilt by the next refresh.
    Team.objects.filter(pk=moscow.pk).update(call_norm_seconds=20)
    fresh_ny = Team.objects.get(pk=new_york.pk)
    fresh_ny.sla_breach_minutes = 15
    fresh_ny.save()
    PbxConnection.objects.filter(team=yekt).update(active=False)
    PbxConnection.objects.filter(team=new_york).update(active=True)
    check(teams)
    call_rollups.refresh()
    cuts = dict(CallDay.objects.values_list("team", "cut").distinct())
    assert cuts == {
        moscow.pk: "v1 pbx Europe/Moscow 20 20",
        new_york.pk: "v1 pbx America/New_York 45 15",
        yekt.pk: "v1 typed Asia/Yekaterinburg 60 20",
        moscow_2.pk: "v1 pbx Europe/Moscow 50 25",
        new_york_2.pk: "v1 typed America/New_York 20 10",
    }
    check(teams)


def test_todays_calls_count_at_once(teams, django_capture_on_commit_callbacks):
    """Today is read live: a call of a minute ago counts with nothing marked."""
    data = Data(3, teams)
    call_rollups.refresh()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        data.pbx_call(teams[0], started=now - timedelta(minutes=1), state=Call.State.ENDED)
        ContactAttempt.objects.create(
            lead=Lead.objects.filter(team=teams[1]).first(),
            by=data.people[1],
            at=now - timedelta(minutes=2),
            outcome="reached",
            duration_s=60,
        )
    assert not CallDirtyDay.objects.exists()  # recent moments mark nothing
    check(teams)


def test_the_built_days_sum_is_kept_until_a_row_is_built_again(teams):
    """reports/call_totals.py: a team's sum of its built days is read from the cache while
    every row stands as it was built; a row built again (a new built_at) is read again."""
    Data(4, teams)
    call_rollups.refresh()
    now = timezone.now()
    period = Period(FIRST, LAST, ZoneInfo("UTC"))

    def made(team: Team) -> int:
        [report] = calls.call_report([team], period, now)
        return report["figures"]["calls_made"]

    team = teams[0]
    before = made(team)
    row = CallDay.objects.filter(team=team, day__gte=FIRST, day__lte=LAST).first()
    nobody = row.figures.get("", [0] * len(call_rollups.FIELDS))
    row.figures = {**row.figures, "": [n + 1000 for n in nobody]}
    row.save(update_fields=["figures"])  # the same built_at: the kept sum is still read
    assert made(team) == before
    row.built_at += timedelta(seconds=1)
    row.save(update_fields=["built_at"])
    assert made(team) == before + 1000
