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
from django.utils import timezone

from crm.deadlines.models import Deadline
from crm.teams.models import Team
from deals.models import Contact, Deal
from handoff import disputes
from handoff.models import Dispute, Handoff
from leads import services
from leads.models import JunkReason, Lead, LeadSource
from reports import histogram, rollups
from reports.exports import team_report
from reports.models import DirtyDay, TeamDay
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
        qualifier, closers = UserFactory(), [UserFactory(), UserFactory(), UserFactory()]
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
                deadlines.append(Deadline(lead=lead, kind="breach", due_at=due, raised_at=raised))
            if lead.state != "converted" or lead.imported_history:
                continue
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
                    outcome=rnd.choice(["", "upheld", "rejected"]),
                )
        Deadline.objects.bulk_create(deadlines)

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
