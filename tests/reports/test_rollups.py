"""The team report from roll-ups equals the definitions computed naively from the raw rows, on
random data: every figure, for days cut in three time zones (one with a daylight-saving change
inside the period), leads arriving on the stroke of local midnight, late changes to old days,
and today. Percentiles within the documented bucket (reports/histogram.py)."""

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from crm.deadlines.models import Deadline
from crm.teams.models import Team
from deals import services as deal_services
from deals.models import Contact, Deal, LossReason
from handoff import disputes
from handoff.models import Dispute, Handoff
from leads import services
from leads.models import Answer, ContactAttempt, JunkReason, Lead, LeadEvent, LeadSource
from reports import histogram, insight_rollups, people, person_rollups, rollups
from reports.exports import team_report
from reports.models import (
    DirtyDay,
    InsightDay,
    InsightDirtyDay,
    PersonDay,
    PersonDirtyDay,
    TeamDay,
)
from reports.periods import Period
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

FIRST, LAST = date(2026, 10, 20), date(2026, 11, 8)  # New York leaves summer time on 1 Nov
DATA_FROM, DATA_TO = datetime(2026, 9, 28, tzinfo=UTC), datetime(2026, 11, 12, tzinfo=UTC)


def exact_percentile(values: list[float], fraction: float) -> tuple[float, float]:
    """percentile_cont, the definition; and how far above it the histogram may read it: the
    bucket width of the higher of the two ranks it interpolates between."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    if below + 1 >= len(ordered) or position == below:
        return ordered[below], bucket_width(ordered[below])
    low, high = ordered[below], ordered[below + 1]
    return low + (position - below) * (high - low), bucket_width(high)


def bucket_width(value: float) -> float:
    for top, width in histogram.RANGES:
        if value <= top:
            return width
    return float("inf")


def close_enough(rolled: float | None, values: list[float], fraction: float) -> bool:
    """Never below the exact figure, at most one bucket above it (both rounded to 0.1)."""
    if not values or rolled is None:
        return not values and rolled is None
    exact, width = exact_percentile(values, fraction)
    return exact - 0.051 <= rolled <= exact + width + 0.051


class Data:
    """Random leads, deals, handoffs, disputes and breaches over six weeks."""

    def __init__(self, seed: int, qualification: list[Team], sales: list[Team]) -> None:
        rnd = random.Random(seed)
        self.rnd = rnd
        self.qualifiers = [UserFactory(), UserFactory(), UserFactory()]
        closers = [UserFactory(), UserFactory(), UserFactory()]
        self.closers = closers
        sources = [
            LeadSource.objects.get_or_create(slug=s, defaults={"name": n, "channel": "web_form"})[0]
            for s, n in (("web", "Website"), ("ads", "Ads"), ("tel", "Phone"))
        ]
        reasons = [
            JunkReason.objects.get_or_create(slug=s, defaults={"name": n})[0]
            for s, n in (("spam", "Spam"), ("far", "Too far"))
        ] + [None]
        leads = []
        for i in range(160):
            team = rnd.choice(qualification)
            arrived = self.moment(team.zone)
            state = rnd.choice(["new", "checked", "converted", "junk", "junk"])
            reaction = self.reaction()
            leads.append(
                Lead(
                    team=team,
                    source=rnd.choice(sources),
                    name=f"Lead {i}",
                    phone=f"+7916{i:07d}",
                    state=state,
                    junk_reason=rnd.choice(reasons) if state == "junk" else None,
                    imported_history=rnd.random() < 0.05,
                    created_at=arrived,
                    due_at=arrived,
                    warn_at=arrived,
                    breach_at=arrived,
                    first_attempt_at=None if reaction is None else arrived,
                    reaction_minutes=reaction,
                )
            )
        Lead.objects.bulk_create(leads)
        deadlines = []
        for lead in leads:
            if rnd.random() < 0.4:
                due = self.moment(lead.team.zone)
                raised = None if rnd.random() < 0.2 else due + timedelta(seconds=20)
                # Half carry their lead's team, as deadlines written since `lead_team` do;
                # the others are read through their lead, as older rows are.
                team = lead.team_id if len(deadlines) % 2 else None
                deadlines.append(
                    Deadline(
                        lead=lead, lead_team_id=team, kind="breach", due_at=due, raised_at=raised
                    )
                )
            self.calls_and_decisions(lead)
            if lead.state != "converted" or lead.imported_history:
                continue
            qualifier = rnd.choice(self.qualifiers)
            sales_team = rnd.choice(sales)
            handed = lead.created_at + timedelta(hours=rnd.uniform(0, 200))
            stage = rnd.choice(["handed_off", "accepted", "won", "won", "lost", "returned"])
            closed = (
                handed + timedelta(hours=rnd.uniform(1, 300)) if stage in ("won", "lost") else None
            )
            deal = Deal.objects.create(
                team=sales_team,
                lead=lead,
                contact=Contact.objects.create(team=sales_team, name=lead.name),
                stage=stage,
                closer=None if stage == "handed_off" else rnd.choice(closers),
                # Kopecks, as entered (SQLite would keep more places and sum them).
                amount=(Decimal(rnd.randrange(10000, 900000)) / 3).quantize(Decimal("0.01"))
                if stage == "won"
                else None,
                created_at=handed,
                accepted_at=None if stage == "handed_off" else handed + timedelta(hours=1),
                closed_at=closed,
            )
            handoff = Handoff.objects.create(
                lead=lead,
                deal=deal,
                qualifier=qualifier,
                from_team=lead.team,
                team=sales_team,
                handed_off_at=handed,
            )
            if rnd.random() < 0.3:
                Dispute.objects.create(
                    deal=deal,
                    handoff=handoff,
                    criterion_question="Budget?",
                    claim="no budget",
                    raised_by=deal.closer or qualifier,
                    raised_at=handed,
                    outcome=(outcome := rnd.choice(["", "upheld", "rejected"])),
                    resolved_at=handed + timedelta(hours=rnd.uniform(1, 400)) if outcome else None,
                )
        Deadline.objects.bulk_create(deadlines)
        ContactAttempt.objects.bulk_create(self.attempts)
        LeadEvent.objects.bulk_create(self.events)
        self.answers(leads, random.Random(seed + 1000))  # its own stream: the rest unchanged

    def answers(self, leads: list[Lead], rnd: random.Random) -> None:
        """Answers on most leads, handed off or not: a few questions of each kind, and one
        value with two labels (a criterion's option renamed between two leads)."""
        questions = [
            ("Budget?", "choice", [("low", "Under 300k"), ("high", "Over 300k")]),
            ("Budget?", "choice", [("high", "Over 300 000")]),
            ("Own home?", "yes_no", [("yes", "Yes"), ("no", "No")]),
            ("Rooms", "number", [("1", "1"), ("2", "2"), ("3", "3")]),
        ]
        Answer.objects.bulk_create(
            Answer(
                lead=lead,
                question=question,
                kind=kind,
                value=value,
                label=label,
                verdict="good",
                answered_at=lead.created_at,
            )
            for lead in leads
            for question, kind, options in questions
            if rnd.random() < 0.6
            for value, label in [rnd.choice(options)]
        )

    def calls_and_decisions(self, lead: Lead) -> None:
        """The lead's first call (at its first_attempt_at) and maybe more, by one of the
        qualifiers; its transitions by one of them (or by nobody: the system)."""
        rnd = self.rnd
        if not hasattr(self, "attempts"):
            self.attempts: list[ContactAttempt] = []
            self.events: list[LeadEvent] = []
        if lead.first_attempt_at is not None:
            self.attempts.append(self.call(lead, lead.first_attempt_at))
            if rnd.random() < 0.2:  # two calls logged at the same moment
                self.attempts.append(self.call(lead, lead.first_attempt_at))
            for _ in range(rnd.choice([0, 0, 1, 2])):
                self.attempts.append(self.call(lead, self.moment(lead.team.zone)))
        steps = {"checked": ["checked"], "converted": ["checked", "converted"], "junk": ["junk"]}
        for to_state in steps.get(lead.state, []):
            actor = rnd.choice([*self.qualifiers, None])
            self.events.append(
                LeadEvent(
                    lead=lead,
                    actor=actor,
                    at=self.moment(lead.team.zone),
                    kind=LeadEvent.Kind.TRANSITION,
                    to_state=to_state,
                )
            )

    def call(self, lead: Lead, at: datetime) -> ContactAttempt:
        return ContactAttempt(
            lead=lead,
            by=self.rnd.choice(self.qualifiers),
            at=at,
            outcome=self.rnd.choice(list(ContactAttempt.Outcome.values)),
            duration_s=self.rnd.choice([0, 29, 30, 31, 200]),
        )

    def moment(self, zone: ZoneInfo) -> datetime:
        """Anywhere in the six weeks, or — one time in four — on the stroke of a local
        midnight (just before, at, just after)."""
        if self.rnd.random() < 0.25:
            day = (DATA_FROM + timedelta(days=self.rnd.randrange(1, 44))).date()
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            return midnight + timedelta(seconds=self.rnd.choice([-1, 0, 0, 1, 59]))
        span = (DATA_TO - DATA_FROM).total_seconds()
        return DATA_FROM + timedelta(seconds=self.rnd.uniform(0, span))

    def reaction(self) -> float | None:
        kind = self.rnd.random()
        if kind < 0.25:
            return None
        if kind < 0.35:
            return 0.0
        if kind < 0.55:
            # On the SLA's edges (15, 20 and the teams' own minutes), or a whole minute.
            return float(self.rnd.choice([7, 15, 20, 25, 33, self.rnd.randint(1, 40)]))
        if kind < 0.9:
            return self.rnd.uniform(0, 90)
        return self.rnd.uniform(90, 20000)


def local(moment: datetime, zone: ZoneInfo) -> date:
    return timezone.localtime(moment, zone).date()


def share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def expected_qualification(team: Team, first: date, last: date) -> tuple[dict, dict]:
    """Every qualification figure by its definition (README "Reports"), over ORM objects;
    and the reaction values behind each percentile."""
    zone = team.zone
    cohort = [
        lead
        for lead in Lead.objects.filter(team=team, imported_history=False).select_related(
            "source", "junk_reason"
        )
        if first <= local(lead.created_at, zone) <= last
    ]
    deals = list(Deal.objects.filter(lead__in=cohort).select_related("dispute"))

    def outcome(deal: Deal) -> str | None:
        return deal.dispute.outcome if hasattr(deal, "dispute") else None

    reactions = [lead.reaction_minutes for lead in cohort if lead.reaction_minutes is not None]
    called = sum(1 for lead in cohort if lead.first_attempt_at is not None)
    counts = {
        "leads": len(cohort),
        "called": called,
        "within_15": sum(1 for r in reactions if r <= 15),
        "within_20": sum(1 for r in reactions if r <= 20),
        "within_warn": sum(1 for r in reactions if r <= team.sla_warn_minutes),
        "within_breach": sum(1 for r in reactions if r <= team.sla_breach_minutes),
        **{s: sum(1 for lead in cohort if lead.state == s) for s in Lead.State.values},
        "accepted": sum(1 for d in deals if d.accepted_at),
        "won": sum(1 for d in deals if d.stage == "won"),
        "disputes": sum(1 for d in deals if outcome(d) is not None),
        "upheld": sum(1 for d in deals if outcome(d) == "upheld"),
        "rejected": sum(1 for d in deals if outcome(d) == "rejected"),
    }
    revenue = sum((d.amount for d in deals if d.stage == "won"), Decimal(0))
    by_source = Counter(lead.source.name for lead in cohort)
    junk = Counter(
        lead.junk_reason.name if lead.junk_reason else "—"
        for lead in cohort
        if lead.state == "junk"
    )
    hours, weekdays = [0] * 24, [0] * 7
    for deadline in Deadline.objects.filter(
        lead__team=team, kind="breach", raised_at__isnull=False
    ):
        due = timezone.localtime(deadline.due_at, zone)
        if first <= due.date() <= last:
            hours[due.hour] += 1
            weekdays[due.isoweekday() - 1] += 1
    weeks: dict[date, list[Lead]] = defaultdict(list)
    for lead in cohort:
        day = local(lead.created_at, zone)
        weeks[day - timedelta(days=day.weekday())].append(lead)
    figures = {
        **counts,
        "revenue": revenue.quantize(Decimal("0.01")),
        "disputes_open": counts["disputes"] - counts["upheld"] - counts["rejected"],
        "within_15_share": share(counts["within_15"], called),
        "within_20_share": share(counts["within_20"], called),
        "within_warn_share": share(counts["within_warn"], called),
        "within_breach_share": share(counts["within_breach"], called),
        "lead_to_handoff": share(counts["converted"], len(cohort)),
        "handoff_to_accepted": share(counts["accepted"], counts["converted"]),
        "handoff_to_won": share(counts["won"], counts["converted"]),
        "lead_to_won": share(counts["won"], len(cohort)),
        "disputes_per_100": share(counts["disputes"], counts["converted"]),
        "by_source": sorted(by_source.items(), key=lambda i: (-i[1], i[0])),
        "junk_by_reason": sorted(junk.items(), key=lambda i: (-i[1], i[0])),
        "breaches": {"hours": hours, "weekdays": weekdays, "total": sum(hours)},
        "sla_warn_minutes": team.sla_warn_minutes,
        "sla_breach_minutes": team.sla_breach_minutes,
    }
    weekly = []
    for monday, in_week in sorted(weeks.items()):
        week_reactions = [x.reaction_minutes for x in in_week if x.reaction_minutes is not None]
        weekly.append(
            {
                "week": monday,
                "leads": len(in_week),
                "converted": sum(1 for x in in_week if x.state == "converted"),
                "within_15_share": share(
                    sum(1 for r in week_reactions if r <= 15),
                    sum(1 for x in in_week if x.first_attempt_at is not None),
                ),
                "reactions": week_reactions,
            }
        )
    return figures, {"reactions": reactions, "weekly": weekly}


def expected_sales(team: Team, first: date, last: date) -> dict:
    zone = team.zone
    handoffs = [
        h
        for h in Handoff.objects.filter(team=team).select_related("deal", "deal__dispute")
        if first <= local(h.handed_off_at, zone) <= last
    ]

    def outcome(deal: Deal) -> str | None:
        return deal.dispute.outcome if hasattr(deal, "dispute") else None

    closed = [
        d
        for d in Deal.objects.filter(team=team, closed_at__isnull=False).select_related("closer")
        if first <= local(d.closed_at, zone) <= last
    ]
    c = {
        "handoffs": len(handoffs),
        "accepted": sum(1 for h in handoffs if h.deal.accepted_at),
        "won": sum(1 for h in handoffs if h.deal.stage == "won"),
        "returned": sum(1 for h in handoffs if h.deal.stage == "returned"),
        "disputes": sum(1 for h in handoffs if outcome(h.deal) is not None),
        "upheld": sum(1 for h in handoffs if outcome(h.deal) == "upheld"),
        "rejected": sum(1 for h in handoffs if outcome(h.deal) == "rejected"),
        "closed_won": sum(1 for d in closed if d.stage == "won"),
        "closed_lost": sum(1 for d in closed if d.stage == "lost"),
    }
    per: dict = defaultdict(lambda: {"won": 0, "lost": 0, "revenue": Decimal(0)})
    for d in closed:
        if d.closer:
            per[d.closer]["won" if d.stage == "won" else "lost"] += 1
            per[d.closer]["revenue"] += d.amount or 0
    won_lost = c["closed_won"] + c["closed_lost"]
    return {
        **c,
        "revenue": sum((d.amount for d in closed if d.stage == "won"), Decimal(0)).quantize(
            Decimal("0.01")
        ),
        "disputes_open": c["disputes"] - c["upheld"] - c["rejected"],
        "handoff_to_accepted": share(c["accepted"], c["handoffs"]),
        "handoff_to_won": share(c["won"], c["handoffs"]),
        "win_rate": share(c["closed_won"], won_lost),
        "disputes_per_100": share(c["disputes"], c["handoffs"]),
        "closers": {
            closer.get_full_name(): {
                "won": v["won"],
                "lost": v["lost"],
                "revenue": v["revenue"].quantize(Decimal("0.01")),
                "win_rate": share(v["won"], v["won"] + v["lost"]),
            }
            for closer, v in per.items()
        },
    }


def check(report: list[dict], first: date, last: date) -> None:
    period = Period(first, last, ZoneInfo("UTC"))
    spans = ((first, last), (period.previous().first_day, period.previous().last_day))
    for team_report_row in report:
        team = Team.objects.get(pk=team_report_row["id"])
        for (a, b), got in zip(
            spans, (team_report_row["figures"], team_report_row["previous"]), strict=True
        ):
            if team.kind == Team.Kind.SALES:
                want = expected_sales(team, a, b)
                closers = want.pop("closers")
                assert {
                    c["closer"]: {k: c[k] for k in ("won", "lost", "revenue", "win_rate")}
                    for c in got["closers"]
                } == closers
                for key, value in want.items():
                    assert got[key] == value, (team.name, a, key)
                continue
            want, values = expected_qualification(team, a, b)
            for key, value in want.items():
                assert got[key] == value, (team.name, a, key)
            assert close_enough(got["reaction_median"], values["reactions"], 0.5)
            assert close_enough(got["reaction_p90"], values["reactions"], 0.9)
            assert [w["week"] for w in got["weekly"]] == [w["week"] for w in values["weekly"]]
            for rolled, week in zip(got["weekly"], values["weekly"], strict=True):
                for key in ("leads", "converted", "within_15_share"):
                    assert rolled[key] == week[key], (team.name, week["week"], key)
                assert close_enough(rolled["reaction_median"], week["reactions"], 0.5)


@pytest.fixture
def teams(db) -> list[Team]:
    return [
        TeamFactory(
            name="Moscow", time_zone="Europe/Moscow", sla_warn_minutes=15, sla_breach_minutes=20
        ),
        TeamFactory(
            name="New York", time_zone="America/New_York", sla_warn_minutes=7, sla_breach_minutes=33
        ),
        TeamFactory(name="Yekaterinburg", time_zone="Asia/Yekaterinburg"),
        TeamFactory(name="Showroom", kind=Team.Kind.SALES, time_zone="Europe/Moscow"),
        TeamFactory(name="Showroom NY", kind=Team.Kind.SALES, time_zone="America/New_York"),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_the_raw_definitions(teams, seed, django_capture_on_commit_callbacks):
    Data(seed, teams[:3], teams[3:])
    period = Period(FIRST, LAST, ZoneInfo("UTC"))

    live = team_report(teams, period)  # nothing built yet: every day from the raw rows
    check(live, FIRST, LAST)

    rollups.refresh()
    assert TeamDay.objects.count() > 5 * 40  # every closed day of every team with data
    assert not DirtyDay.objects.exists()
    built = team_report(teams, period)
    assert built == live
    check(built, FIRST, LAST)

    # Weeks later, a new lead of the period is junked: its day is marked and read live …
    lead = (
        Lead.objects.filter(team=teams[0], state="new", imported_history=False)
        .filter(
            created_at__gte=period.start + timedelta(days=2),
            created_at__lt=period.end - timedelta(days=2),
        )
        .first()
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_junk(lead=lead, by=UserFactory(), reason=JunkReason.objects.get(slug="far"))
    assert DirtyDay.objects.filter(
        team=teams[0], day=local(lead.created_at, teams[0].zone)
    ).exists()
    check(team_report(teams, period), FIRST, LAST)
    # … until the job rebuilds it.
    assert rollups.refresh()["days"] == 1
    assert not DirtyDay.objects.exists()
    check(team_report(teams, period), FIRST, LAST)

    # A team's SLA minutes change: its within-SLA counts are recounted.
    ny = Team.objects.get(pk=teams[1].pk)
    ny.sla_warn_minutes = 25
    ny.save()
    assert not TeamDay.objects.filter(team=ny).exists()
    teams[1] = ny
    check(team_report(teams, period), FIRST, LAST)
    rollups.refresh()
    check(team_report(teams, period), FIRST, LAST)


def test_today_is_read_live(teams, django_capture_on_commit_callbacks):
    """Today's leads count at once; yesterday is built only an hour after its midnight."""
    moscow = teams[0]
    now = timezone.now()
    today = local(now, moscow.zone)
    Data(4, [moscow], teams[3:4])
    rollups.refresh()
    for minutes in (1, 3, 45):
        with django_capture_on_commit_callbacks(execute=True):
            lead = services.lead_create(
                team=moscow,
                name="Now",
                phone=f"+7916555{minutes:04d}",
                source=LeadSource.objects.first(),
                now=now - timedelta(minutes=minutes),
            )
    assert not DirtyDay.objects.exists()  # recent moments mark nothing
    assert not TeamDay.objects.filter(day__gte=rollups.buildable_until(moscow.zone)).exists()
    report = team_report([moscow], Period(today - timedelta(days=6), today, moscow.zone))
    want, _ = expected_qualification(moscow, today - timedelta(days=6), today)
    assert report[0]["figures"]["leads"] == want["leads"] >= 3
    assert lead.pk


def test_cached_sums_follow_their_rows(teams, monkeypatch):
    """The built days' sums of a period are cached under their rows' build times: a second read
    decodes no row, and rows built again with other figures (a change no signal saw) are read
    anew, never the cached sum."""
    Data(6, teams[:3], teams[3:])
    rollups.refresh()
    period = Period(FIRST, LAST, ZoneInfo("UTC"))
    first = team_report(teams, period)
    with monkeypatch.context() as m:
        m.setattr(rollups, "loaded_days", lambda *a: pytest.fail("rows decoded again"))
        assert team_report(teams, period) == first
    junked = Lead.objects.filter(
        team=teams[0],
        state=Lead.State.NEW,
        imported_history=False,
        created_at__gte=period.start,
        created_at__lt=period.end,
    ).update(state=Lead.State.JUNK)  # a queryset update: no signal, no mark
    assert junked
    assert team_report(teams, period) == first  # the rows say so until they are rebuilt
    rollups.refresh(everything=True)
    again = team_report(teams, period)
    check(again, FIRST, LAST)
    assert again[0]["figures"]["junk"] == first[0]["figures"]["junk"] + junked


def test_a_cache_that_does_not_answer_costs_the_report_its_speed_only(teams, settings):
    """Redis restarting: the report sums the stored days itself, with the same figures."""
    Data(6, teams[:3], teams[3:])
    rollups.refresh()
    period = Period(FIRST, LAST, ZoneInfo("UTC"))
    expected = team_report(teams, period)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    assert team_report(teams, period) == expected
    assert team_report(teams, period) == expected


def board(team_ids: list[int], period: Period) -> dict:
    return {k: v for k, v in people.leaderboard(team_ids, period).items() if k != "weights"}


def test_cached_boards_follow_their_rows(
    teams, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """The leaderboard's sum of stored days is cached under their build times and marks: a
    second read adds up no row; a late call (a mark) and a rebuild give other keys, and the
    board stays the raw definitions'. Redis down: the same board, from the rows."""
    data = Data(6, teams[:3], teams[3:])
    person_rollups.refresh()
    ids = [t.pk for t in teams]
    period = Period(FIRST, LAST, teams[0].zone)
    first = board(ids, period)
    with monkeypatch.context() as m:
        m.setattr(person_rollups, "_add_stored_boards", lambda *a: pytest.fail("rows summed"))
        assert board(ids, period) == first
    lead = Lead.objects.filter(team=teams[0], created_at__lt=period.end).first()
    with django_capture_on_commit_callbacks(execute=True):
        ContactAttempt.objects.create(
            lead=lead,
            by=data.qualifiers[0],
            at=datetime(2026, 11, 2, 10, tzinfo=UTC),
            outcome="reached",
            duration_s=45,
        )
    assert PersonDirtyDay.objects.exists()
    points, _chains = raw_leaderboard(ids, period)
    marked = board(ids, period)
    mine = {r["person"]: r["reached_calls"] for r in marked["people"]}
    assert mine[name(data.qualifiers[0])] == points[data.qualifiers[0].pk]["reached_calls"]
    person_rollups.refresh()
    assert board(ids, period) == marked
    check_people(data, teams, ["Europe/Moscow"])
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    assert board(ids, period) == marked


def test_histogram_percentiles_are_percentile_cont_within_a_bucket():
    rnd = random.Random(7)
    for _ in range(200):
        values = [
            rnd.choice([0.0, rnd.uniform(0, 70), rnd.uniform(0, 9000), float(rnd.randint(0, 30))])
            for _ in range(rnd.randint(1, 40))
        ]
        total = histogram.pack(Counter(histogram.bucket_of(v) for v in values))
        for fraction, got in zip((0.5, 0.9), histogram.percentiles(total, (0.5, 0.9)), strict=True):
            exact, width = exact_percentile(values, fraction)
            assert exact - 1e-9 <= got <= exact + width + 1e-9


def test_a_late_ruling_marks_the_days_it_changes(teams, django_capture_on_commit_callbacks):
    """A ruling is a conditional UPDATE (no post_save): it marks the lead's arrival day and the
    handoff's day all the same."""
    Data(5, teams[:3], teams[3:])
    rollups.refresh()
    dispute = Dispute.objects.filter(outcome="").first()
    assert dispute is not None
    head = UserFactory(role="Sales head")
    Team.objects.filter(pk=dispute.deal.team_id).update(manager=head)
    dispute = Dispute.objects.get(pk=dispute.pk)
    with django_capture_on_commit_callbacks(execute=True):
        disputes.dispute_resolve(dispute=dispute, by=head, outcome="rejected")
    lead, handoff = dispute.deal.lead, dispute.handoff
    marked = set(DirtyDay.objects.values_list("team", "day"))
    assert (lead.team_id, local(lead.created_at, lead.team.zone)) in marked
    assert (handoff.team_id, local(handoff.handed_off_at, handoff.team.zone)) in marked
    period = Period(FIRST, LAST, ZoneInfo("UTC"))
    check(team_report(teams, period), FIRST, LAST)
    rollups.refresh()
    assert not DirtyDay.objects.exists()
    check(team_report(teams, period), FIRST, LAST)


# --- the person report and the leaderboard ---------------------------------------------------
# The references are the raw queries the pages ran before the roll-ups (today's definitions),
# with the reactions returned as values for close_enough.


def raw_person_figures(user, period: Period) -> tuple[dict, list[float]]:
    in_period = {"at__gte": period.start, "at__lt": period.end}
    calls = ContactAttempt.objects.filter(by=user, **in_period)
    first_calls = calls.filter(at=F("lead__first_attempt_at"))
    reactions = list(
        Lead.objects.filter(
            pk__in=first_calls.values("lead"), reaction_minutes__isnull=False
        ).values_list("reaction_minutes", flat=True)
    )
    decisions = LeadEvent.objects.filter(actor=user, kind=LeadEvent.Kind.TRANSITION, **in_period)
    handoffs = Handoff.objects.filter(
        qualifier=user, handed_off_at__gte=period.start, handed_off_at__lt=period.end
    )
    qualifier = {
        "calls": calls.count(),
        "reached_calls": calls.filter(outcome="reached", duration_s__gte=30).count(),
        "first_calls": first_calls.count(),
        **decisions.aggregate(
            checked=Count("id", filter=Q(to_state="checked")),
            converted=Count("id", filter=Q(to_state="converted")),
            junk=Count("id", filter=Q(to_state="junk")),
        ),
        **handoffs.aggregate(
            handoffs=Count("id"),
            handoffs_won=Count("id", filter=Q(deal__stage="won")),
            disputes_upheld=Count("dispute", filter=Q(dispute__outcome="upheld")),
        ),
    }
    deals = Deal.objects.filter(closer=user)
    closed = deals.filter(closed_at__gte=period.start, closed_at__lt=period.end)
    closer = {
        "accepted": deals.filter(accepted_at__gte=period.start, accepted_at__lt=period.end).count(),
        **closed.aggregate(
            won=Count("id", filter=Q(stage="won")),
            lost=Count("id", filter=Q(stage="lost")),
            revenue=Sum("amount", filter=Q(stage="won")),
        ),
        "disputes_rejected": Dispute.objects.filter(
            deal__closer=user,
            outcome="rejected",
            resolved_at__gte=period.start,
            resolved_at__lt=period.end,
        ).count(),
    }
    closer["revenue"] = Decimal(closer["revenue"] or 0).quantize(Decimal("0.01"))
    closer["win_rate"] = share(closer["won"], closer["won"] + closer["lost"])
    qualifier["lead_to_handoff"] = share(qualifier["converted"], qualifier["first_calls"])
    return {"qualifier": qualifier, "closer": closer}, reactions


def raw_leaderboard(team_ids: list[int], period: Period) -> tuple[dict, dict]:
    """{person: points row}, {(qualifier, closer): (handoffs, won)} with weights 1, 2, 5, 10."""
    points: dict = defaultdict(
        lambda: {"points": 0, "reached_calls": 0, "checks": 0, "conversions": 0, "wins": 0}
    )

    def add(person, action: str, n: int, weight: int) -> None:
        if person:
            points[person][action] += n
            points[person]["points"] += n * weight

    span = {"at__gte": period.start, "at__lt": period.end}
    for r in (
        ContactAttempt.objects.filter(
            lead__team__in=team_ids, outcome="reached", duration_s__gte=30, **span
        )
        .values("by")
        .annotate(n=Count("id"))
    ):
        add(r["by"], "reached_calls", r["n"], 1)
    for r in (
        LeadEvent.objects.filter(
            lead__team__in=team_ids, kind="transition", to_state="checked", **span
        )
        .values("actor")
        .annotate(n=Count("id"))
    ):
        add(r["actor"], "checks", r["n"], 2)
    handoffs = Handoff.objects.filter(
        Q(from_team__in=team_ids) | Q(team__in=team_ids),
        handed_off_at__gte=period.start,
        handed_off_at__lt=period.end,
    )
    kept = handoffs.exclude(dispute__outcome="upheld")
    for r in kept.values("qualifier").annotate(n=Count("id")):
        add(r["qualifier"], "conversions", r["n"], 5)
    for r in (
        Deal.objects.filter(stage="won", closed_at__gte=period.start, closed_at__lt=period.end)
        .filter(Q(team__in=team_ids) | Q(lead__team__in=team_ids))
        .values("closer")
        .annotate(n=Count("id"))
    ):
        add(r["closer"], "wins", r["n"], 10)
    chains = {
        (c["qualifier"], c["deal__closer"]): (c["handoffs"], c["won"])
        for c in kept.filter(deal__closer__isnull=False)
        .values("qualifier", "deal__closer")
        .annotate(handoffs=Count("id"), won=Count("id", filter=Q(deal__stage="won")))
    }
    return dict(points), chains


def name(user) -> str:
    return user.get_full_name() or user.get_username()


def check_people(data: Data, teams: list[Team], zones: list[str]) -> None:
    """Every person figure and the leaderboard, in each zone, for the period and the one before."""
    everybody = [*data.qualifiers, *data.closers]
    boards = [[t.pk for t in teams], [teams[0].pk], [teams[-1].pk], [teams[1].pk, teams[3].pk]]
    seen: Counter = Counter()  # the data has something of each kind to compare
    for zone_name in zones:
        zone = ZoneInfo(zone_name)
        period = Period(FIRST, LAST, zone)
        for span in (period, period.previous()):
            for user in everybody:
                got = people.person_figures(user, span)
                want, reactions = raw_person_figures(user, span)
                for role in ("qualifier", "closer"):
                    for key, value in want[role].items():
                        assert got[role][key] == value, (zone_name, span, name(user), key)
                seen.update(
                    {k: v for k, v in {**want["qualifier"], **want["closer"]}.items() if v}.keys()
                )
                assert close_enough(got["qualifier"]["reaction_median"], reactions, 0.5)
                assert close_enough(got["qualifier"]["reaction_p90"], reactions, 0.9)
            for team_ids in boards:
                board = people.leaderboard(team_ids, span)
                want_points, want_chains = raw_leaderboard(team_ids, span)
                names = {u.pk: name(u) for u in everybody}
                assert {r.pop("person"): r for r in board["people"]} == {
                    names[pk]: row for pk, row in want_points.items()
                }, (zone_name, span, team_ids)
                assert {
                    (c["qualifier"], c["closer"]): (c["handoffs"], c["won"])
                    for c in board["chains"]
                } == {(names[q], names[c]): n for (q, c), n in want_chains.items()}
                order = [(-c["won"], -c["handoffs"]) for c in board["chains"]]
                assert order == sorted(order)
                seen.update(["board"] if want_points else [])
                seen.update(["chains"] if want_chains else [])
    assert set(seen) >= {*COUNTED, "board", "chains"}, seen


COUNTED = (
    *("calls", "reached_calls", "first_calls", "checked", "converted", "junk", "handoffs"),
    *("handoffs_won", "disputes_upheld", "accepted", "won", "lost", "disputes_rejected"),
)


PERSON_ZONES = ["Europe/Moscow", "America/New_York", "Asia/Yekaterinburg", "UTC"]


@pytest.mark.parametrize("seed", [1, 2])
def test_person_rollups_equal_the_raw_definitions(teams, seed, django_capture_on_commit_callbacks):
    """Live (nothing built), built (UTC is no team's zone: always live), after a call logged
    weeks late (marked in every zone, read live), and rebuilt by the job."""
    data = Data(seed, teams[:3], teams[3:])
    check_people(data, teams, PERSON_ZONES)

    assert person_rollups.refresh()["person_days"] > 0
    assert {z.key for z in person_rollups.zones()} == set(PERSON_ZONES[:3])
    check_people(data, teams, PERSON_ZONES)

    lead = Lead.objects.filter(team=teams[1], first_attempt_at__isnull=False).first()
    late = datetime.combine(FIRST + timedelta(days=5), datetime.min.time(), tzinfo=teams[1].zone)
    with django_capture_on_commit_callbacks(execute=True):
        ContactAttempt.objects.create(
            lead=lead, by=data.qualifiers[0], at=late, outcome="reached", duration_s=45
        )
    marked = set(PersonDirtyDay.objects.values_list("zone", "day"))
    assert ("America/New_York", FIRST + timedelta(days=5)) in marked
    assert ("Europe/Moscow", FIRST + timedelta(days=5)) in marked
    check_people(data, teams, PERSON_ZONES[:3])
    assert person_rollups.refresh()["person_days"] > 0
    assert not PersonDirtyDay.objects.exists()
    check_people(data, teams, PERSON_ZONES[:3])

    # New York's teams move to Moscow: its days are dropped (no write marks them any more).
    Team.objects.filter(time_zone="America/New_York").update(time_zone="Europe/Moscow")
    person_rollups.refresh()
    assert not PersonDay.objects.filter(zone="America/New_York").exists()
    check_people(data, teams, PERSON_ZONES[1:2])


def test_a_late_ruling_marks_the_people_it_changes(teams, django_capture_on_commit_callbacks):
    data = Data(6, teams[:3], teams[3:])
    person_rollups.refresh()
    dispute = Dispute.objects.filter(outcome="", deal__closer__isnull=False).first()
    assert dispute is not None
    head = UserFactory(role="Sales head")
    Team.objects.filter(pk=dispute.deal.team_id).update(manager=head)
    dispute = Dispute.objects.get(pk=dispute.pk)
    with django_capture_on_commit_callbacks(execute=True):
        disputes.dispute_resolve(dispute=dispute, by=head, outcome="upheld")
    marked = set(PersonDirtyDay.objects.values_list("person", flat=True))
    assert {dispute.handoff.qualifier_id, dispute.deal.closer_id} <= marked
    check_people(data, teams, PERSON_ZONES[:1])
    person_rollups.refresh()
    assert not PersonDirtyDay.objects.exists()
    check_people(data, teams, PERSON_ZONES[:1])


# --- insights (what predicts a sale) ---------------------------------------------------------
# The references are the raw queries the page ran before the roll-ups (today's definitions).


def raw_answer_outcomes(team_ids: list[int], period: Period) -> list[dict]:
    rows = (
        Answer.objects.filter(
            lead__team__in=team_ids,
            lead__handoff__handed_off_at__gte=period.start,
            lead__handoff__handed_off_at__lt=period.end,
        )
        .values("question", "kind", "value", "label")
        .annotate(
            deals=Count("id"),
            won=Count("id", filter=Q(lead__deal__stage="won")),
            lost=Count("id", filter=Q(lead__deal__stage="lost")),
            disputed_away=Count("id", filter=Q(lead__deal__dispute__outcome="upheld")),
        )
        .order_by("question", "-deals")
    )
    return [{**r, "win_rate": share(r["won"], r["won"] + r["lost"])} for r in rows]


def raw_source_quality(team_ids: list[int], period: Period) -> list[dict]:
    leads_in = Q(
        lead__team__in=team_ids,
        lead__created_at__gte=period.start,
        lead__created_at__lt=period.end,
        lead__imported_history=False,
    )
    rows = (
        LeadSource.objects.annotate(
            leads_count=Count("lead", filter=leads_in),
            junk=Count("lead", filter=leads_in & Q(lead__state="junk")),
            handoffs=Count("lead__handoff", filter=leads_in),
            disputed=Count("lead__deal__dispute", filter=leads_in),
            upheld=Count(
                "lead__deal__dispute", filter=leads_in & Q(lead__deal__dispute__outcome="upheld")
            ),
        )
        .filter(leads_count__gt=0)
        .order_by("-leads_count")
    )
    return [
        {
            "source": s.name,
            "leads": s.leads_count,
            "junk": s.junk,
            "junk_rate": share(s.junk, s.leads_count),
            "handoffs": s.handoffs,
            "disputes": s.disputed,
            "dispute_rate": share(s.disputed, s.handoffs),
            "upheld": s.upheld,
        }
        for s in rows
    ]


def check_insights(teams: list[Team], zones: list[str]) -> None:
    """Both tables, in each zone, for the period and the one before, for several sets of
    teams; the raw query's ties (its order is the database's) compared as sets."""
    sets = [[t.pk for t in teams], [teams[0].pk], [teams[1].pk, teams[2].pk], [teams[3].pk]]
    seen: Counter = Counter()

    def by_key(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
        return sorted(rows, key=lambda r: tuple(r[k] for k in key))

    for zone_name in zones:
        period = Period(FIRST, LAST, ZoneInfo(zone_name))
        for span in (period, period.previous()):
            for team_ids in sets:
                got = people.insights(team_ids, span)
                want = raw_answer_outcomes(team_ids, span)
                key = ("question", "kind", "value", "label")
                assert by_key(got["answers"], key) == by_key(want, key), (zone_name, span)
                order = [(r["question"], -r["deals"]) for r in got["answers"]]
                assert order == sorted(order)
                want_sources = raw_source_quality(team_ids, span)
                assert by_key(got["sources"], ("source",)) == by_key(want_sources, ("source",))
                assert [-r["leads"] for r in got["sources"]] == sorted(
                    -r["leads"] for r in got["sources"]
                )
                for row in [*want, *want_sources]:
                    seen.update(k for k in INSIGHT_COUNTS if row.get(k))
    assert set(seen) == set(INSIGHT_COUNTS), seen


INSIGHT_COUNTS = ("deals", "won", "lost", "disputed_away", "junk", "handoffs", "disputes", "upheld")


def handoffs_on_midnights(seed: int, teams: list[Team]) -> None:
    """One handoff in three moved onto the stroke of a local midnight (of one of the teams'
    zones: just before, at, just after), inside the data's weeks."""
    rnd = random.Random(seed + 2000)
    for handoff in Handoff.objects.order_by("pk"):
        if rnd.random() < 0.33:
            zone = rnd.choice(teams).zone
            day = local(handoff.handed_off_at, zone)
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            moved = midnight + timedelta(seconds=rnd.choice([-1, 0, 0, 1]))
            Handoff.objects.filter(pk=handoff.pk).update(handed_off_at=moved)


@pytest.mark.parametrize("seed", [1, 2])
def test_insight_rollups_equal_the_raw_definitions(teams, seed, django_capture_on_commit_callbacks):
    """Live (nothing built), built (UTC is no team's zone: always live), after late changes
    (a lead junked, a deal lost, a dispute upheld weeks later: marked, read live, rebuilt by
    the job), and after a zone no team uses any more is dropped."""
    data = Data(seed, teams[:3], teams[3:])
    handoffs_on_midnights(seed, teams)
    check_insights(teams, PERSON_ZONES)

    assert insight_rollups.refresh()["insight_days"] > 0
    assert not InsightDirtyDay.objects.exists()
    check_insights(teams, PERSON_ZONES)

    # Weeks later: a new lead of the period junked, a deal handed off in it lost, a dispute
    # upheld.
    in_period = {"created_at__gte": datetime(2026, 10, 22, tzinfo=UTC)}
    lead = Lead.objects.filter(state="new", imported_history=False, **in_period).first()
    deal = Deal.objects.filter(stage="accepted", closer__isnull=False, **in_period).first()
    dispute = Dispute.objects.filter(outcome="", deal__created_at__gte=in_period["created_at__gte"])
    dispute = dispute.first()
    assert lead and deal and dispute
    head = UserFactory(role="Sales head")
    Team.objects.filter(pk=dispute.deal.team_id).update(manager=head)
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_junk(lead=lead, by=data.qualifiers[0], reason=JunkReason.objects.first())
        deal_services.deal_lose(
            deal=deal, by=deal.closer, reason=LossReason.objects.create(name="Price", slug="price")
        )
        disputes.dispute_resolve(
            dispute=Dispute.objects.get(pk=dispute.pk), by=head, outcome="upheld"
        )
    marked = set(InsightDirtyDay.objects.values_list("zone", "team", "day"))
    for zone in ("Europe/Moscow", "America/New_York"):
        assert (zone, lead.team_id, local(lead.created_at, ZoneInfo(zone))) in marked
        handed = deal.handoff.handed_off_at
        assert (zone, deal.lead.team_id, local(handed, ZoneInfo(zone))) in marked
    check_insights(teams, PERSON_ZONES)
    assert insight_rollups.refresh()["insight_days"] > 0
    assert not InsightDirtyDay.objects.exists()
    check_insights(teams, PERSON_ZONES)

    # New York's teams move to Moscow: its days are dropped (no write marks them any more).
    Team.objects.filter(time_zone="America/New_York").update(time_zone="Europe/Moscow")
    insight_rollups.refresh()
    assert not InsightDay.objects.filter(zone="America/New_York").exists()
    check_insights(teams, PERSON_ZONES[:2])


def test_todays_leads_count_in_insights_at_once(teams, django_capture_on_commit_callbacks):
    """Today is read live: a lead that arrived a minute ago is in its source's figures."""
    moscow = teams[0]
    Data(4, [moscow], teams[3:4])
    insight_rollups.refresh()
    source = LeadSource.objects.first()
    today = local(timezone.now(), moscow.zone)
    period = Period(today - timedelta(days=6), today, moscow.zone)
    before = {r["source"]: r["leads"] for r in people.insights([moscow.pk], period)["sources"]}
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_create(
            team=moscow,
            name="Now",
            phone="+79165550001",
            source=source,
            now=timezone.now() - timedelta(minutes=1),
        )
    after = {r["source"]: r["leads"] for r in people.insights([moscow.pk], period)["sources"]}
    assert after[source.name] == before.get(source.name, 0) + 1
