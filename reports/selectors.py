"""Report figures, computed in the database (aggregates with FILTER, GROUP BY), never by
looping over leads in Python. Definitions are in the README ("Reports")."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncWeek

from crm import access
from crm.deadlines.models import Deadline
from crm.teams.models import Team
from deals.models import Deal
from handoff.models import Dispute, Handoff
from leads.alerts import BREACH
from leads.models import Lead
from reports.aggregates import Percentile, percentiles
from reports.periods import Period


def report_teams(user: access.User) -> list[Team]:
    """The teams the user manages (an admin: all) — crm/access.py."""
    return access.report_teams(user)


def money(amount: Decimal | None) -> Decimal:
    """Kopecks, the same on every database (SQLite's SUM drops trailing zeros)."""
    return Decimal(amount or 0).quantize(Decimal("0.01"))


def share(part: int | None, whole: int | None) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None


def qualification_figures(team: Team, period: Period) -> dict:
    """A qualification team over the leads that arrived in the period (the cohort)."""
    return qualification_report([team], [period])[team.pk][0]


def qualification_report(teams: list[Team], periods: list[Period]) -> dict[int, list[dict]]:
    """Each team's figures for each period (periods of one time zone), in a few passes
    however many teams and periods: GROUP BY team, one FILTER per period. (A pass per team
    and period read the same index ranges and hashed the same deals again and again;
    grouping by a CASE over the periods instead made PostgreSQL expect a group per row and
    sort every row.)"""
    # Leads imported as converted history (converted in another CRM, no deal here) are no
    # work of the team's: left out of every figure, so an import changes none of them.
    leads = Lead.objects.filter(
        team__in=teams, imported_history=False, **_range("created_at", periods)
    )
    counts = _split(
        leads.values("team").annotate(
            **_per_period(periods, "created_at", lambda cohort: _lead_counts(cohort, teams))
        ),
        "team",
    )
    # Deal and dispute are one-to-one with the lead; only leads with a deal are joined.
    deals = Deal.objects.filter(lead__team__in=teams, **_range("lead__created_at", periods))
    deal_counts = _split(
        deals.values("lead__team").annotate(
            **_per_period(periods, "lead__created_at", _deal_counts)
        ),
        "lead__team",
    )
    by_source = _by(leads, "source__name", periods)
    junk_by_reason = _by(leads.filter(state=Lead.State.JUNK), "junk_reason__name", periods)
    weekly = _weekly(leads, periods)
    breach_cells = breaches(teams, periods)
    report: dict[int, list[dict]] = {}
    for team in teams:
        report[team.pk] = []
        for span, period in enumerate(periods):
            key = (team.pk, span)
            row = {**_no_leads(), **counts.get(key, {}), **deal_counts.get(key, {})}
            if connection.vendor != "postgresql":
                cohort = Lead.objects.filter(_within("created_at", period), team=team)
                row["median"], row["p90"] = percentiles(cohort, "reaction_minutes", (0.5, 0.9))
            figures = _qualification(row)
            figures["sla_warn_minutes"] = team.sla_warn_minutes
            figures["sla_breach_minutes"] = team.sla_breach_minutes
            figures["by_source"] = by_source.get(key, [])
            figures["junk_by_reason"] = junk_by_reason.get(key, [])
            figures["weekly"] = weekly.get(key, [])
            figures["breaches"] = _breaches(breach_cells.get(key, []))
            report[team.pk].append(figures)
    return report


def _sla_minutes(teams: list[Team], field: str) -> Case:
    """Each team's own SLA minutes as a CASE over the lead's team column: the lead index
    still answers (a join to the team table would not be index-only)."""
    return Case(
        *(When(team_id=team.pk, then=Value(getattr(team, field))) for team in teams),
        default=Value(None),
        output_field=IntegerField(),
    )


def _lead_counts(cohort: Q, teams: list[Team]) -> dict:
    warn, breach = (
        _sla_minutes(teams, "sla_warn_minutes"),
        _sla_minutes(teams, "sla_breach_minutes"),
    )
    counts: dict[str, Aggregate] = {
        "leads": Count("id", filter=cohort),
        "called": Count("id", filter=cohort & Q(first_attempt_at__isnull=False)),
        "within_15": Count("id", filter=cohort & Q(reaction_minutes__lte=15)),
        "within_20": Count("id", filter=cohort & Q(reaction_minutes__lte=20)),
        # Within the team's own warning and breach minutes (Settings → Teams).
        "within_warn": Count("id", filter=cohort & Q(reaction_minutes__lte=warn)),
        "within_breach": Count("id", filter=cohort & Q(reaction_minutes__lte=breach)),
        "new": Count("id", filter=cohort & Q(state=Lead.State.NEW)),
        "checked": Count("id", filter=cohort & Q(state=Lead.State.CHECKED)),
        "converted": Count("id", filter=cohort & Q(state=Lead.State.CONVERTED)),
        "junk": Count("id", filter=cohort & Q(state=Lead.State.JUNK)),
    }
    if connection.vendor == "postgresql":
        counts["median"] = Percentile("reaction_minutes", 0.5, filter=cohort)
        counts["p90"] = Percentile("reaction_minutes", 0.9, filter=cohort)
    return counts


def _deal_counts(cohort: Q) -> dict:
    return {
        "accepted": Count("id", filter=cohort & Q(accepted_at__isnull=False)),
        "won": Count("id", filter=cohort & Q(stage=Deal.Stage.WON)),
        "revenue": Sum("amount", filter=cohort & Q(stage=Deal.Stage.WON)),
        "disputes": Count("dispute", filter=cohort),
        "upheld": Count("dispute", filter=cohort & Q(dispute__outcome=Dispute.Outcome.UPHELD)),
        "rejected": Count("dispute", filter=cohort & Q(dispute__outcome=Dispute.Outcome.REJECTED)),
    }


def _no_leads() -> dict:
    zero: tuple[str, ...] = (
        "leads",
        "called",
        "within_15",
        "within_20",
        "within_warn",
        "within_breach",
    )
    zero += ("new", "checked", "converted", "junk")
    more = ("accepted", "won", "disputes", "upheld", "rejected")
    return {**dict.fromkeys(zero + more, 0), "revenue": None, "median": None, "p90": None}


def _qualification(row: dict) -> dict:
    counts = {k: v for k, v in row.items() if k not in ("median", "p90")}
    total, handoffs = counts["leads"], counts["converted"]
    return {
        **counts,
        "revenue": money(counts["revenue"]),
        "disputes_open": counts["disputes"] - counts["upheld"] - counts["rejected"],
        "reaction_median": _minutes(row["median"]),
        "reaction_p90": _minutes(row["p90"]),
        "within_15_share": share(counts["within_15"], counts["called"]),
        "within_20_share": share(counts["within_20"], counts["called"]),
        "within_warn_share": share(counts["within_warn"], counts["called"]),
        "within_breach_share": share(counts["within_breach"], counts["called"]),
        "lead_to_handoff": share(handoffs, total),
        "handoff_to_accepted": share(counts["accepted"], handoffs),
        "handoff_to_won": share(counts["won"], handoffs),
        "lead_to_won": share(counts["won"], total),
        "disputes_per_100": share(counts["disputes"], handoffs),
    }


def sales_figures(team: Team, period: Period) -> dict:
    """A sales team over the handoffs it received in the period, and the deals it closed."""
    return sales_report([team], [period])[team.pk][0]


def sales_report(teams: list[Team], periods: list[Period]) -> dict[int, list[dict]]:
    """Each sales team's figures for each period, grouped like qualification_report."""
    handoffs = Handoff.objects.filter(team__in=teams, **_range("handed_off_at", periods))
    counts = _split(
        handoffs.values("team").annotate(**_per_period(periods, "handed_off_at", _handoff_counts)),
        "team",
    )
    deals = Deal.objects.filter(team__in=teams, **_range("closed_at", periods))
    closed = _split(
        deals.values("team").annotate(**_per_period(periods, "closed_at", _closed_counts)),
        "team",
    )
    report: dict[int, list[dict]] = {}
    for span, period in enumerate(periods):
        closers = closer_figures(closed_deals(deals, period))
        for team in teams:
            c = {**dict.fromkeys(_handoff_counts(Q()), 0), **counts.get((team.pk, span), {})}
            d: dict[str, Any] = {"closed_won": 0, "closed_lost": 0, "revenue": None}
            d.update(closed.get((team.pk, span), {}))
            won_lost = d["closed_won"] + d["closed_lost"]
            report.setdefault(team.pk, []).append(
                {
                    **c,
                    **d,
                    "revenue": money(d["revenue"]),
                    "disputes_open": c["disputes"] - c["upheld"] - c["rejected"],
                    "handoff_to_accepted": share(c["accepted"], c["handoffs"]),
                    "handoff_to_won": share(c["won"], c["handoffs"]),
                    "win_rate": share(d["closed_won"], won_lost),
                    "disputes_per_100": share(c["disputes"], c["handoffs"]),
                    "closers": closers.get(team.pk, []),
                }
            )
    return report


def _handoff_counts(received: Q) -> dict:
    return {
        "handoffs": Count("id", filter=received),
        "accepted": Count("id", filter=received & Q(deal__accepted_at__isnull=False)),
        "won": Count("id", filter=received & Q(deal__stage=Deal.Stage.WON)),
        "returned": Count("id", filter=received & Q(deal__stage=Deal.Stage.RETURNED)),
        "disputes": Count("dispute", filter=received),
        "upheld": Count("dispute", filter=received & Q(dispute__outcome=Dispute.Outcome.UPHELD)),
        "rejected": Count(
            "dispute", filter=received & Q(dispute__outcome=Dispute.Outcome.REJECTED)
        ),
    }


def _closed_counts(closed: Q) -> dict:
    return {
        "closed_won": Count("id", filter=closed & Q(stage=Deal.Stage.WON)),
        "closed_lost": Count("id", filter=closed & Q(stage=Deal.Stage.LOST)),
        "revenue": Sum("amount", filter=closed & Q(stage=Deal.Stage.WON)),
    }


def closed_deals(deals: QuerySet[Deal], period: Period) -> QuerySet[Deal]:
    return deals.filter(closed_at__gte=period.start, closed_at__lt=period.end)


def closer_figures(deals: QuerySet[Deal]) -> dict[int, list[dict]]:
    """Per team and closer: deals won and lost, win rate, revenue (one period: the order
    is the database's, by revenue)."""
    rows = (
        deals.filter(closer__isnull=False)
        .values("team", "closer", "closer__first_name", "closer__last_name", "closer__username")
        .annotate(
            won=Count("id", filter=Q(stage=Deal.Stage.WON)),
            lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
            revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
        )
        .order_by("team", "-revenue", "closer__username")
    )
    found: dict[int, list[dict]] = {}
    for r in rows:
        found.setdefault(r["team"], []).append(
            {
                "closer": _name(r, "closer"),
                "won": r["won"],
                "lost": r["lost"],
                "revenue": money(r["revenue"]),
                "win_rate": share(r["won"], r["won"] + r["lost"]),
            }
        )
    return found


def breaches(teams: list[Team], periods: list[Period]) -> dict[tuple, list[tuple]]:
    """SLA breaches per team and period as (hour, weekday, count) cells, in the teams' zone:
    hour and weekday in one pass, at most 168 groups per team."""
    zone = periods[0].zone
    raised = Deadline.objects.filter(
        lead__team__in=teams,
        kind=BREACH.code,
        raised_at__isnull=False,
        **_range("due_at", periods),
    )
    cells = (
        raised.annotate(
            h=ExtractHour("due_at", tzinfo=zone), d=ExtractIsoWeekDay("due_at", tzinfo=zone)
        )
        .values("lead__team", "h", "d")
        .annotate(**_per_period(periods, "due_at", lambda due: {"n": Count("id", filter=due)}))
        .order_by()
    )
    found: dict[tuple, list[tuple]] = {}
    for key, row in _split(cells, "lead__team", keep=("h", "d")).items():
        for cell in row:
            if cell["n"]:
                found.setdefault(key, []).append((cell["h"], cell["d"], cell["n"]))
    return found


def _breaches(cells: list[tuple]) -> dict[str, Any]:
    """By hour of day (0–23) and by weekday (Monday first): where the head needs more
    people."""
    hours, weekdays = [0] * 24, [0] * 7
    for hour, day, n in cells:
        hours[int(hour)] += n
        weekdays[int(day) - 1] += n
    return {"hours": hours, "weekdays": weekdays, "total": sum(hours)}


def _weekly(leads: QuerySet[Lead], periods: list[Period]) -> dict[tuple, list[dict]]:
    """Leads, conversions and reaction week by week (weeks start on Monday, local time)."""

    def week_counts(cohort: Q) -> dict:
        counts: dict[str, Aggregate] = {
            "leads": Count("id", filter=cohort),
            "converted": Count("id", filter=cohort & Q(state=Lead.State.CONVERTED)),
            "within_15": Count("id", filter=cohort & Q(reaction_minutes__lte=15)),
            "called": Count("id", filter=cohort & Q(first_attempt_at__isnull=False)),
        }
        if connection.vendor == "postgresql":
            counts["median"] = Percentile("reaction_minutes", 0.5, filter=cohort)
        return counts

    weeks = (
        leads.annotate(week=TruncWeek("created_at", tzinfo=periods[0].zone))
        .values("team", "week")
        .annotate(**_per_period(periods, "created_at", week_counts))
        .order_by("team", "week")
    )
    found: dict[tuple, list[dict]] = {}
    for (team, span), rows in _split(weeks, "team", keep=("week",)).items():
        for week in rows:
            if not week["leads"]:
                continue  # a week at the edge: its leads are all in the other period
            median = week.get("median")
            if connection.vendor != "postgresql":
                in_week = Lead.objects.filter(
                    _within("created_at", periods[span]),
                    team=team,
                    created_at__gte=week["week"],
                    created_at__lt=week["week"] + timedelta(days=7),
                )
                (median,) = percentiles(in_week, "reaction_minutes", (0.5,))
            found.setdefault((team, span), []).append(
                {
                    "week": week["week"].date(),
                    "leads": week["leads"],
                    "converted": week["converted"],
                    "reaction_median": _minutes(median),
                    "within_15_share": share(week["within_15"], week["called"]),
                }
            )
    return found


def _by(rows: QuerySet, field: str, periods: list[Period]) -> dict[tuple, list[tuple[str, int]]]:
    """Counts by `field` per team and period, most first. A query per period: the order
    (and its ties, in the database's collation) is the database's."""
    found: dict[tuple, list[tuple[str, int]]] = {}
    for span, period in enumerate(periods):
        counted = (
            rows.filter(_within("created_at", period))
            .values("team", field)
            .annotate(n=Count("id"))
            .order_by("team", "-n", field)
        )
        for r in counted:
            found.setdefault((r["team"], span), []).append((r[field] or "—", r["n"]))
    return found


def _within(field: str, period: Period) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def _range(field: str, periods: list[Period]) -> dict:
    """One range over all the periods: a single index range (an OR of ranges would not be
    an index-only scan)."""
    if len({p.zone for p in periods}) != 1:
        raise ValueError("periods of one time zone")
    first, end = min(p.start for p in periods), max(p.end for p in periods)
    return {f"{field}__gte": first, f"{field}__lt": end}


def _per_period(periods: list[Period], field: str, aggregates) -> dict:
    """`aggregates(filter)` for each period, named `<name>__p<index>`."""
    return {
        f"{name}__p{span}": aggregate
        for span, period in enumerate(periods)
        for name, aggregate in aggregates(_within(field, period)).items()
    }


def _split(rows, key: str, keep: tuple = ()) -> dict:
    """Rows of _per_period aggregates grouped by `key`, split into (key, period index):
    a dict of the figures, or with `keep` (more grouping columns) a list of them."""
    found: dict = {}
    for row in rows:
        parts: dict[int, dict] = {}
        for column, value in row.items():
            name, named, span = column.rpartition("__p")
            if named and span.isdigit():
                parts.setdefault(int(span), {})[name] = value
        for span, figures in parts.items():
            if keep:
                extra = {k: row[k] for k in keep}
                found.setdefault((row[key], span), []).append({**extra, **figures})
            else:
                found[(row[key], span)] = figures
    return found


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _name(row: dict, prefix: str) -> str:
    full = f"{row[f'{prefix}__first_name']} {row[f'{prefix}__last_name']}".strip()
    return full or row[f"{prefix}__username"]
