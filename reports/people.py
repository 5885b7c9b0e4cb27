"""Per-person figures and the leaderboard, added up from each person's days
(reports/person_rollups.py); what predicts a sale from each team's days
(reports/insight_rollups.py)."""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from leads.models import LeadSource
from reports import histogram, insight_rollups, person_rollups
from reports.models import LeaderboardWeights
from reports.periods import Period
from reports.selectors import money, share


def person_figures(user: User, period: Period) -> dict:
    """What one person did in the period, as a qualifier and as a closer: the sum of their
    days (reports/person_rollups.py)."""
    days = list(
        person_rollups.person_days(
            period.zone, period.first_day, period.last_day, [user.pk]
        ).values()
    )
    total = {name: sum(day[name] for day in days) for name in person_rollups.COUNTS}
    revenue = sum(
        (Decimal(day["revenue"]) for day in days if day["revenue"] is not None), Decimal(0)
    )
    median, p90 = histogram.percentiles(sum(day["reactions"] for day in days), (0.5, 0.9))
    qualifier = {
        name: total[name]
        for name in ("calls", "reached_calls", "first_calls", "checked", "converted", "junk")
    }
    qualifier.update(
        reaction_median=None if median is None else round(median, 1),
        reaction_p90=None if p90 is None else round(p90, 1),
        handoffs=total["handoffs"],
        handoffs_won=total["handoffs_won"],
        disputes_upheld=total["disputes_upheld"],
        lead_to_handoff=share(total["converted"], total["first_calls"]),
    )
    closer = {
        "accepted": total["accepted"],
        "won": total["won"],
        "lost": total["lost"],
        "revenue": money(revenue),
        "disputes_rejected": total["disputes_rejected"],
        "win_rate": share(total["won"], total["won"] + total["lost"]),
    }
    return {"qualifier": qualifier, "closer": closer}


def leaderboard(team_ids: list[int], period: Period) -> dict:
    """Points per person for the actions that count, and per qualifier–closer chain: the sum
    of everybody's days, each count kept only where it concerns one of the teams."""
    weights = LeaderboardWeights.current()
    points: dict[int, dict] = defaultdict(
        lambda: {"points": 0, "reached_calls": 0, "checks": 0, "conversions": 0, "wins": 0}
    )
    ours = {str(pk) for pk in team_ids}
    judged: dict[str, bool] = {}  # a few dozen keys, met on thousands of days

    def concerns(key: str) -> bool:
        # "team", or "from:to" teams (a sales team's board counts the handoffs it received,
        # a qualification team's those it made; a deal counts for its team and its lead's).
        if key not in judged:
            judged[key] = any(team in ours for team in key.split(":"))
        return judged[key]

    actions = {
        "reached": ("reached_calls", weights.reached_call),
        "checks": ("checks", weights.checked_lead),
        "conversions": ("conversions", weights.conversion),
        "wins": ("wins", weights.won_deal),
    }
    chains: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    # Everybody's counts by team key over the period first (added up by the database), then
    # the key test and the weights once per person and key: a few dozen keys.
    by_key, by_chain, as_of = person_rollups.board_totals(
        period.zone, period.first_day, period.last_day
    )
    for (closer, key), (handoffs, won) in by_chain.items():
        qualifier, *teams = key.split(":")
        if concerns(":".join(teams)):
            chain = chains[(int(qualifier), closer)]
            chain[0] += handoffs
            chain[1] += won
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for (person, name, key), n in by_key.items():
        if concerns(key):
            counts[(person, name)] += n
    for (person, name), n in counts.items():
        action, weight = actions[name]
        _add(points, person, action, n, weight)
    names = _names({*points, *(q for q, _c in chains), *(c for _q, c in chains)})
    people = sorted(
        ({"person": names.get(pk, ""), **row} for pk, row in points.items()),
        key=lambda r: (-r["points"], r["person"]),
    )
    ordered = sorted(
        chains.items(),
        key=lambda item: (
            -item[1][1],
            -item[1][0],
            names.get(item[0][0], ""),
            names.get(item[0][1], ""),
        ),
    )
    return {
        "weights": weights,
        "today_as_of": as_of,  # reports/today.py; None: today read live, or not in the period
        "people": people,
        "chains": [
            {
                "qualifier": names.get(qualifier, ""),
                "closer": names.get(closer, ""),
                "handoffs": handoffs,
                "won": won,
                "points": handoffs * weights.conversion + won * weights.won_deal,
            }
            for (qualifier, closer), (handoffs, won) in ordered
        ],
    }


def _names(ids: set) -> dict[int, str]:
    """People as pages name them: the full name, else the login."""
    users = get_user_model().objects.filter(pk__in=[pk for pk in ids if pk is not None])
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def _add(points: dict, person: int | None, action: str, count: int, weight: int) -> None:
    if person and count:
        points[person][action] += count
        points[person]["points"] += count * weight


def insights(team_ids: list[int], period: Period) -> dict[str, Any]:
    """What predicts a sale: the teams' days of the period (reports/insight_rollups.py)
    added up — per answer and per source."""
    total = insight_rollups.totals(period.zone, period.first_day, period.last_day, team_ids)
    return {
        "answers": _answer_outcomes(total),
        "sources": _source_quality(total),
        "today_as_of": total.as_of,  # reports/today.py; None: today read live, or not in it
    }


def _answer_outcomes(total: insight_rollups.Totals) -> list[dict]:
    """For each answer given on the leads handed off in the period: how their deals ended.
    Which answers predict a sale, so the admin can tune the criteria. By question, the most
    given first (ties by kind, value, label)."""
    rows: list[dict[str, Any]] = [
        {
            **dict(zip(insight_rollups.ANSWER_KEY, key, strict=True)),
            **dict(zip(insight_rollups.ANSWER_COUNTS, counts, strict=True)),
        }
        for key, counts in total.answers.items()
    ]
    rows.sort(key=lambda r: (r["question"], -r["deals"], r["kind"], r["value"], r["label"]))
    return [{**r, "win_rate": share(r["won"], r["won"] + r["lost"])} for r in rows]


def _source_quality(total: insight_rollups.Totals) -> list[dict]:
    """Per source, of the leads that arrived in the period: how much of it is junk, and how
    often its handoffs are disputed. The most leads first (ties by name)."""
    names = dict(LeadSource.objects.filter(pk__in=list(total.sources)).values_list("pk", "name"))
    rows = []
    for pk, counts in total.sources.items():
        s = dict(zip(insight_rollups.SOURCE_COUNTS, counts, strict=True))
        if s["leads"] and pk in names:
            rows.append(
                {
                    "source": names[pk],
                    "leads": s["leads"],
                    "junk": s["junk"],
                    "junk_rate": share(s["junk"], s["leads"]),
                    "handoffs": s["handoffs"],
                    "disputes": s["disputes"],
                    "dispute_rate": share(s["disputes"], s["handoffs"]),
                    "upheld": s["upheld"],
                }
            )
    return sorted(rows, key=lambda r: (-r["leads"], r["source"]))
