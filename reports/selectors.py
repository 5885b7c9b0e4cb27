"""Report figures, computed in the database (aggregates with FILTER, GROUP BY), never by
looping over leads in Python. Definitions are in the README ("Reports")."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncWeek

from crm.teams.models import Role, Team
from crm.teams.selectors import teams_for_user, user_has_role
from deals.models import Deal
from handoff.models import Dispute, Handoff
from leads.models import Deadline, Lead
from reports.aggregates import Percentile, percentiles
from reports.periods import Period


def report_teams(user: AbstractBaseUser) -> list[Team]:
    """A sales head sees the teams they manage; an admin sees all."""
    if user.is_superuser or user.is_staff:
        return list(Team.objects.all())
    if not user_has_role(user, Role.SALES_HEAD):
        return []
    return list(teams_for_user(user).filter(manager=user))


def money(amount: Decimal | None) -> Decimal:
    """Kopecks, the same on every database (SQLite's SUM drops trailing zeros)."""
    return Decimal(amount or 0).quantize(Decimal("0.01"))


def share(part: int | None, whole: int | None) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def qualification_figures(team: Team, period: Period) -> dict:
    """A qualification team over the leads that arrived in the period (the cohort)."""
    leads = Lead.objects.filter(team=team, created_at__gte=period.start, created_at__lt=period.end)
    counts = leads.aggregate(
        leads=Count("id"),
        called=Count("id", filter=Q(first_attempt_at__isnull=False)),
        within_15=Count("id", filter=Q(reaction_minutes__lte=15)),
        within_20=Count("id", filter=Q(reaction_minutes__lte=20)),
        new=Count("id", filter=Q(state=Lead.State.NEW)),
        checked=Count("id", filter=Q(state=Lead.State.CHECKED)),
        converted=Count("id", filter=Q(state=Lead.State.CONVERTED)),
        junk=Count("id", filter=Q(state=Lead.State.JUNK)),
        accepted=Count("deal", filter=Q(deal__accepted_at__isnull=False)),
        won=Count("deal", filter=Q(deal__stage=Deal.Stage.WON)),
        revenue=Sum("deal__amount", filter=Q(deal__stage=Deal.Stage.WON)),
        disputes=Count("deal__dispute"),
        upheld=Count("deal__dispute", filter=Q(deal__dispute__outcome=Dispute.Outcome.UPHELD)),
        rejected=Count("deal__dispute", filter=Q(deal__dispute__outcome=Dispute.Outcome.REJECTED)),
    )
    median, p90 = percentiles(leads, "reaction_minutes", (0.5, 0.9))
    total, handoffs = counts["leads"], counts["converted"]
    return {
        **counts,
        "revenue": money(counts["revenue"]),
        "disputes_open": counts["disputes"] - counts["upheld"] - counts["rejected"],
        "reaction_median": _minutes(median),
        "reaction_p90": _minutes(p90),
        "within_15_share": share(counts["within_15"], counts["called"]),
        "within_20_share": share(counts["within_20"], counts["called"]),
        "lead_to_handoff": share(handoffs, total),
        "handoff_to_accepted": share(counts["accepted"], handoffs),
        "handoff_to_won": share(counts["won"], handoffs),
        "lead_to_won": share(counts["won"], total),
        "disputes_per_100": share(counts["disputes"], handoffs),
        "by_source": _by(leads, "source__name"),
        "junk_by_reason": _by(leads.filter(state=Lead.State.JUNK), "junk_reason__name"),
        "weekly": _weekly(leads, period),
        "breaches": breaches(team, period),
    }


def sales_figures(team: Team, period: Period) -> dict:
    """A sales team over the handoffs it received in the period, and the deals it closed."""
    handoffs = Handoff.objects.filter(
        team=team, handed_off_at__gte=period.start, handed_off_at__lt=period.end
    )
    counts = handoffs.aggregate(
        handoffs=Count("id"),
        accepted=Count("id", filter=Q(deal__accepted_at__isnull=False)),
        won=Count("id", filter=Q(deal__stage=Deal.Stage.WON)),
        returned=Count("id", filter=Q(deal__stage=Deal.Stage.RETURNED)),
        disputes=Count("dispute"),
        upheld=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.UPHELD)),
        rejected=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.REJECTED)),
    )
    closed = closed_deals(Deal.objects.filter(team=team), period).aggregate(
        closed_won=Count("id", filter=Q(stage=Deal.Stage.WON)),
        closed_lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
        revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
    )
    return {
        **counts,
        **closed,
        "revenue": money(closed["revenue"]),
        "disputes_open": counts["disputes"] - counts["upheld"] - counts["rejected"],
        "handoff_to_accepted": share(counts["accepted"], counts["handoffs"]),
        "handoff_to_won": share(counts["won"], counts["handoffs"]),
        "win_rate": share(closed["closed_won"], closed["closed_won"] + closed["closed_lost"]),
        "disputes_per_100": share(counts["disputes"], counts["handoffs"]),
        "closers": closer_figures(Deal.objects.filter(team=team), period),
    }


def closed_deals(deals: QuerySet[Deal], period: Period) -> QuerySet[Deal]:
    return deals.filter(closed_at__gte=period.start, closed_at__lt=period.end)


def closer_figures(deals: QuerySet[Deal], period: Period) -> list[dict]:
    """Per closer: deals won and lost in the period, win rate, revenue, disputes lost."""
    rows = (
        closed_deals(deals, period)
        .filter(closer__isnull=False)
        .values("closer", "closer__first_name", "closer__last_name", "closer__username")
        .annotate(
            won=Count("id", filter=Q(stage=Deal.Stage.WON)),
            lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
            revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
        )
        .order_by("-revenue", "closer__username")
    )
    return [
        {
            "closer": _name(r, "closer"),
            "won": r["won"],
            "lost": r["lost"],
            "revenue": money(r["revenue"]),
            "win_rate": share(r["won"], r["won"] + r["lost"]),
        }
        for r in rows
    ]


def breaches(team: Team, period: Period) -> dict[str, list[int]]:
    """SLA breaches by hour of day (0–23) and by weekday (Monday first), in the team's zone:
    where the head needs more people."""
    raised = Deadline.objects.filter(
        lead__team=team,
        kind=Deadline.Kind.BREACH,
        raised_at__isnull=False,
        due_at__gte=period.start,
        due_at__lt=period.end,
    )
    by_hour = dict(
        raised.annotate(h=ExtractHour("due_at", tzinfo=period.zone))
        .values_list("h")
        .annotate(n=Count("id"))
        .values_list("h", "n")
    )
    by_day = dict(
        raised.annotate(d=ExtractIsoWeekDay("due_at", tzinfo=period.zone))
        .values_list("d")
        .annotate(n=Count("id"))
        .values_list("d", "n")
    )
    return {
        "hours": [by_hour.get(h, 0) for h in range(24)],
        "weekdays": [by_day.get(d, 0) for d in range(1, 8)],
        "total": sum(by_hour.values()),
    }


def _weekly(leads: QuerySet[Lead], period: Period) -> list[dict]:
    """Leads, conversions and reaction week by week (weeks start on Monday, local time)."""
    weeks = (
        leads.annotate(week=TruncWeek("created_at", tzinfo=period.zone))
        .values("week")
        .annotate(
            leads=Count("id"),
            converted=Count("id", filter=Q(state=Lead.State.CONVERTED)),
            within_15=Count("id", filter=Q(reaction_minutes__lte=15)),
            called=Count("id", filter=Q(first_attempt_at__isnull=False)),
        )
        .order_by("week")
    )
    if connection.vendor == "postgresql":
        weeks = weeks.annotate(median=Percentile("reaction_minutes", 0.5))
    rows = []
    for week in weeks:
        median = week.get("median")
        if connection.vendor != "postgresql":
            in_week = leads.filter(
                created_at__gte=week["week"], created_at__lt=week["week"] + timedelta(days=7)
            )
            (median,) = percentiles(in_week, "reaction_minutes", (0.5,))
        rows.append(
            {
                "week": week["week"].date(),
                "leads": week["leads"],
                "converted": week["converted"],
                "reaction_median": _minutes(median),
                "within_15_share": share(week["within_15"], week["called"]),
            }
        )
    return rows


def _by(rows: QuerySet, field: str) -> list[tuple[str, int]]:
    counted = rows.values(field).annotate(n=Count("id")).order_by("-n", field)
    return [(r[field] or "—", r["n"]) for r in counted]


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _name(row: dict, prefix: str) -> str:
    full = f"{row[f'{prefix}__first_name']} {row[f'{prefix}__last_name']}".strip()
    return full or row[f"{prefix}__username"]
