"""The deal's stages: a state machine like the lead's, with the same conflict handling."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from deals import services
from deals.models import Deal, DealEvent, LossReason
from tests.factories import UserFactory, make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def reason(db) -> LossReason:
    return LossReason.objects.create(name="Too expensive", slug="price")


def test_the_whole_pipeline_to_won(world):
    deal = make_deal(world)
    assert (deal.stage, deal.closer) == ("handed_off", None)
    services.deal_accept(deal=deal, by=world.closer)
    assert (deal.stage, deal.closer, deal.accepted_at is not None) == (
        "accepted",
        world.closer,
        True,
    )
    visit = timezone.now() + timedelta(days=2)
    services.deal_set_meeting(deal=deal, by=world.closer, at=visit, address="Тверская, 1")
    assert (deal.stage, deal.meeting_at) == ("meeting", visit)
    services.deal_transition(deal=deal, by=world.closer, name="propose")
    services.deal_win(deal=deal, by=world.closer, amount=Decimal("450000"))
    deal.refresh_from_db()
    assert (deal.stage, deal.amount, deal.closed_at is not None) == ("won", Decimal("450000"), True)
    stages = list(deal.events.filter(kind="stage").values_list("from_stage", "to_stage"))
    assert stages == [
        ("handed_off", "accepted"),
        ("accepted", "meeting"),
        ("meeting", "proposal"),
        ("proposal", "won"),
    ]


def test_lost_needs_a_reason(world, reason):
    deal = make_deal(world)
    services.deal_accept(deal=deal, by=world.closer)
    with pytest.raises(ValidationError):
        services.deal_lose(deal=deal, by=world.closer, reason=None)
    services.deal_lose(deal=deal, by=world.closer, reason=reason, note="cheaper elsewhere")
    assert (deal.stage, deal.loss_reason) == ("lost", reason)


@pytest.mark.parametrize(
    ("path", "name", "arguments"),
    [
        ([], "win", {"amount": Decimal(1)}),
        ([], "propose", {}),
        (["accept"], "win", {"amount": Decimal(1)}),
        (["accept"], "accept", {"closer": None}),
        (["accept", "propose"], "set_meeting", {"at": None, "address": "x"}),
        (["accept", "lose"], "win", {"amount": Decimal(1)}),
        (["accept", "lose"], "propose", {}),
    ],
)
def test_illegal_stage_changes_are_refused(world, reason, path, name, arguments):
    deal = make_deal(world)
    for step in path:
        if step == "accept":
            services.deal_accept(deal=deal, by=world.closer)
        elif step == "lose":
            services.deal_lose(deal=deal, by=world.closer, reason=reason)
        else:
            services.deal_transition(deal=deal, by=world.closer, name=step)
    stage = deal.stage
    with pytest.raises(services.DealConflict):
        services.deal_transition(deal=deal, by=world.closer, name=name, **arguments)
    assert Deal.objects.get(pk=deal.pk).stage == stage


def test_a_deal_given_to_one_closer_cannot_be_picked_up_by_another(world):
    other = UserFactory(role="Closer")
    world.sales.members.add(other)
    deal = make_deal(world, closer=world.closer)
    with pytest.raises(services.DealConflict):
        services.deal_accept(deal=deal, by=other)


def test_a_stale_copy_loses_to_the_first_change(world):
    deal = make_deal(world)
    stale = Deal.objects.get(pk=deal.pk)
    services.deal_accept(deal=deal, by=world.closer)
    with pytest.raises(services.DealConflict, match="Someone else changed"):
        services.deal_accept(deal=stale, by=world.closer)


def test_the_head_reassigns_only_before_pick_up(world):
    other = UserFactory(role="Closer")
    world.sales.members.add(other)
    deal = make_deal(world)
    services.deal_assign(deal=deal, by=world.head, closer=other)
    assert Deal.objects.get(pk=deal.pk).closer == other
    assert deal.events.filter(kind=DealEvent.Kind.ASSIGNED, closer=other).exists()
    with pytest.raises(ValidationError):
        services.deal_assign(deal=deal, by=world.head, closer=world.qualifier)
    services.deal_accept(deal=deal, by=other)
    with pytest.raises(services.DealConflict):
        services.deal_assign(deal=deal, by=world.head, closer=world.closer)


def test_a_booked_visit_makes_the_pick_up_a_meeting(world):
    deal = make_deal(world)
    Deal.objects.filter(pk=deal.pk).update(meeting_at=timezone.now() + timedelta(days=1))
    deal.refresh_from_db()
    services.deal_accept(deal=deal, by=world.closer)
    assert deal.stage == "meeting"
