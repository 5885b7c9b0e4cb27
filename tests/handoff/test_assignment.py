"""New deals go to closers at random, weighted by load and recent win rate (README)."""

import random

import pytest
from django.utils import timezone

from deals.models import CloserStatus, Deal
from handoff.assignment import choose_closer, closer_weight, closer_weights, pick
from tests.factories import UserFactory, make_deal

# (open deals, won, lost) in the last 90 days, for five closers
CLOSERS = {
    "busy star": (8, 9, 1),
    "idle star": (1, 9, 1),
    "average": (3, 5, 5),
    "newcomer": (0, 0, 0),
    "struggling": (3, 1, 9),
}


def test_the_weight_formula():
    assert closer_weight(0, 0, 0) == pytest.approx(0.6)  # a newcomer: win rate 0.5, +0.1
    assert closer_weight(1, 9, 1) == pytest.approx((10 / 12 + 0.1) / 2)
    assert closer_weight(8, 9, 1) < closer_weight(1, 9, 1)  # load weighs
    assert closer_weight(3, 1, 9) < closer_weight(3, 5, 5)  # win rate weighs


def test_a_thousand_deals_over_five_closers_follow_the_formula():
    weights = [(name, closer_weight(*numbers)) for name, numbers in CLOSERS.items()]
    total = sum(w for _name, w in weights)
    rng = random.Random(7)
    counts = dict.fromkeys(CLOSERS, 0)
    for _ in range(1000):
        counts[pick(weights, rng)] += 1
    for name, weight in weights:
        p = weight / total
        expected, sigma = 1000 * p, (1000 * p * (1 - p)) ** 0.5
        # Within four standard deviations of the binomial expectation.
        assert abs(counts[name] - expected) <= 4 * sigma, (name, counts[name], expected)
    assert counts["idle star"] > counts["busy star"]
    assert counts["average"] > counts["struggling"]


@pytest.mark.django_db
def test_weights_are_counted_from_the_database_and_skip_unavailable_closers(world):
    away = UserFactory(role="Closer")
    world.sales.members.add(away)
    CloserStatus.objects.create(closer=away, available=False)
    deal = make_deal(world)
    from deals import services

    services.deal_accept(deal=deal, by=world.closer)
    weights = dict(closer_weights(world.sales, timezone.now()))
    assert away not in weights
    assert weights[world.closer] == pytest.approx(closer_weight(1, 0, 0))


@pytest.mark.django_db
def test_a_pool_team_gives_new_deals_to_nobody(world):
    world.sales.assignment = "pool"
    world.sales.save()
    assert choose_closer(world.sales, timezone.now()) is None


@pytest.mark.django_db
def test_an_auto_team_gives_a_new_deal_to_one_of_its_closers(world):
    deal = make_deal(world)
    world.sales.assignment = "auto"
    world.sales.save()
    from handoff.services import lead_convert
    from leads import services
    from tests.factories import make_lead

    lead = make_lead(world.team, phone="+79160000001")
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    services.lead_check(lead=lead, by=world.qualifier)
    auto = lead_convert(lead=lead, by=world.qualifier).deal
    assert auto.closer == world.closer
    assert deal.closer is None and Deal.objects.count() == 2
