"""Who gets a new deal: a closer of the sales team, drawn at random with a weight that favours
closers with fewer open deals and a better recent win rate.

    win_rate = (won + 1) / (won + lost + 2)        deals closed in the last 90 days, smoothed so
                                                   a new closer starts at 0.5, not 0 or 1
    weight   = (win_rate + 0.1) / (open_deals + 1)
    P(closer) = weight / sum of the weights of the available closers

Random rather than "the best one wins", so one strong closer is not buried and a new one still
gets deals; the weights make it fair over many deals."""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Q

from crm.teams.models import Role, Team
from deals.models import Deal

WIN_RATE_DAYS = 90
WIN_RATE_FLOOR = 0.1


def closer_weight(open_deals: int, won: int, lost: int) -> float:
    win_rate = (won + 1) / (won + lost + 2)
    return (win_rate + WIN_RATE_FLOOR) / (open_deals + 1)


def pick(weights: Sequence[tuple[User, float]], rng: random.Random) -> User | None:
    if not weights:
        return None
    users, values = zip(*weights, strict=True)
    return rng.choices(users, weights=values, k=1)[0]


def closer_weights(team: Team, now: datetime) -> list[tuple[User, float]]:
    """The team's available closers with their weights, counted in the database."""
    since = now - timedelta(days=WIN_RATE_DAYS)
    closers = (
        team.members.filter(is_active=True, groups__name=Role.CLOSER)
        .exclude(closer_status__available=False)
        .annotate(
            open_deals=Count("deals", filter=Q(deals__stage__in=Deal.OPEN_STAGES)),
            won=Count("deals", filter=Q(deals__stage=Deal.Stage.WON, deals__closed_at__gte=since)),
            lost=Count(
                "deals", filter=Q(deals__stage=Deal.Stage.LOST, deals__closed_at__gte=since)
            ),
        )
        .order_by("pk")
    )
    return [(c, closer_weight(c.open_deals, c.won, c.lost)) for c in closers]


def choose_closer(team: Team, now: datetime, rng: random.Random | None = None) -> User | None:
    """A closer for a new deal, or None for the pool (the team's setting, or nobody available)."""
    if team.assignment != "auto":
        return None
    # a fair draw, not a secret: the standard generator is right here
    return pick(closer_weights(team, now), rng or random.Random())  # noqa: S311
