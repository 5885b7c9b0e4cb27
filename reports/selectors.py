"""Report figures. The team report adds up each team's days (reports/rollups.py: the stored
roll-ups of closed days, the raw rows for the rest), never by looping over leads; the person
report and the leaderboard add up each person's days the same way (reports/person_rollups.py).
Definitions are in the README ("Reports")."""

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from crm import access
from crm.teams.models import Team
from reports import team_totals
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
    """Each team's figures for each period (whole days of the teams' one time zone), added
    up from its days (reports/team_totals.py: the built days' sums cached)."""
    totals = _totals(teams, periods)
    report: dict[int, list[dict]] = {}
    for team in teams:
        report[team.pk] = []
        for i in range(len(periods)):
            t = totals[(team.pk, i)]
            row: dict[str, Any] = {**t["counts"], "revenue": t["revenue"]}
            row["median"], row["p90"] = team_totals.percentiles(t)
            figures = _qualification(row)
            figures["sla_warn_minutes"] = team.sla_warn_minutes
            figures["sla_breach_minutes"] = team.sla_breach_minutes
            figures["by_source"] = _most_first(t["by_source"])
            figures["junk_by_reason"] = _most_first(t["junk_by_reason"])
            figures["weekly"] = _weekly(t)
            figures["today_as_of"] = t["as_of"]  # reports/today.py; None: read live
            figures["breaches"] = {
                "hours": t["hours"],
                "weekdays": t["weekdays"],
                "total": sum(t["hours"]),
            }
            report[team.pk].append(figures)
    return report


def _totals(teams: list[Team], periods: list[Period]) -> dict:
    zone = periods[0].zone
    if any(p.zone != zone for p in periods) or any(t.zone != zone for t in teams):
        raise ValueError("teams and periods of one time zone")
    return team_totals.period_totals(teams, [(p.first_day, p.last_day) for p in periods])


def _most_first(total: dict[str, int]) -> list[tuple[str, int]]:
    """Counts by name, most first (ties by name)."""
    return sorted(total.items(), key=lambda item: (-item[1], item[0]))


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
    """Each sales team's figures for each period, added up from its days."""
    totals = _totals(teams, periods)
    names = _closer_names({c for t in totals.values() for c in t["closers"]})
    report: dict[int, list[dict]] = {}
    for team in teams:
        for i in range(len(periods)):
            t = totals[(team.pk, i)]
            c = {**t["counts"], "revenue": t["revenue"]}
            won_lost = c["closed_won"] + c["closed_lost"]
            report.setdefault(team.pk, []).append(
                {
                    **c,
                    "revenue": money(c["revenue"]),
                    "disputes_open": c["disputes"] - c["upheld"] - c["rejected"],
                    "handoff_to_accepted": share(c["accepted"], c["handoffs"]),
                    "handoff_to_won": share(c["won"], c["handoffs"]),
                    "win_rate": share(c["closed_won"], won_lost),
                    "disputes_per_100": share(c["disputes"], c["handoffs"]),
                    "closers": _closers(t["closers"], names),
                    "today_as_of": t["as_of"],  # reports/today.py; None: read live
                }
            )
    return report


def _closers(totals: dict[int, list], names: dict[int, tuple[str, str]]) -> list[dict]:
    """Per closer of the team: deals won and lost in the period, win rate, revenue; by
    revenue, most first (a closer with no win first, as PostgreSQL sorts NULL), then login."""
    order = sorted(
        totals.items(),
        key=lambda item: (item[1][2] is not None, -(item[1][2] or 0), names[item[0]][1]),
    )
    return [
        {
            "closer": names[closer][0],
            "won": won,
            "lost": lost,
            "revenue": money(revenue),
            "win_rate": share(won, won + lost),
        }
        for closer, (won, lost, revenue) in order
    ]


def _closer_names(ids: set[int]) -> dict[int, tuple[str, str]]:
    """{id: (full name or login, login)}."""
    users = get_user_model().objects.filter(pk__in=ids)
    return {
        u.pk: (f"{u.first_name} {u.last_name}".strip() or u.get_username(), u.get_username())
        for u in users
    }


def _weekly(totals: team_totals.Totals) -> list[dict]:
    """Leads, conversions and reaction week by week (weeks start on Monday, local time); a
    week at the period's edge counts only its days in the period."""
    found = []
    for monday, (leads, converted, within_15, called, _r) in sorted(totals["weeks"].items()):
        if not leads:
            continue
        found.append(
            {
                "week": monday,
                "leads": leads,
                "converted": converted,
                "reaction_median": _minutes(team_totals.week_median(totals, monday)),
                "within_15_share": share(within_15, called),
            }
        )
    return found


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
