"""Disputes: raised by the closer within the window, answered by the qualifier, ruled on once
by a sales head who is neither side."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm import access
from crm.deadlines.sweep import sweep as acceptance_sweep
from crm.notifications.models import Notification
from deals import services as deals
from deals.models import Deal
from handoff import disputes
from leads.models import Criterion
from tests.factories import UserFactory, make_criterion, make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def criterion(db) -> Criterion:
    return make_criterion(required=False)


@pytest.fixture
def deal(world, criterion) -> Deal:
    deal = make_deal(world, answers={criterion: "custom"})
    deals.deal_accept(deal=deal, by=world.closer)
    return deal


def raise_dispute(world, deal, criterion):
    return disputes.dispute_raise(
        deal=deal, by=world.closer, criterion=criterion, claim="They wanted a modular kitchen"
    )


def test_the_closer_disputes_and_the_head_and_qualifier_are_told(world, deal, criterion):
    dispute = raise_dispute(world, deal, criterion)
    assert dispute.criterion_question == criterion.question
    assert Notification.objects.filter(recipient=world.head, kind="dispute").exists()
    assert Notification.objects.filter(recipient=world.qualifier, kind="dispute").exists()


def test_only_the_deals_closer_disputes_and_only_once(world, deal, criterion):
    with pytest.raises(PermissionDenied):
        disputes.dispute_raise(deal=deal, by=world.head, criterion=criterion, claim="x")
    raise_dispute(world, deal, criterion)
    with pytest.raises(deals.DealConflict, match="already disputed"):
        raise_dispute(world, deal, criterion)


def test_a_dispute_needs_a_criterion_and_a_claim(world, deal, criterion):
    with pytest.raises(ValidationError) as error:
        disputes.dispute_raise(deal=deal, by=world.closer, criterion=None, claim=" ")
    assert set(error.value.message_dict) == {"criterion", "claim"}


def test_the_window_closes(world, deal, criterion):
    late = deal.handoff.handed_off_at + timedelta(days=world.sales.dispute_window_days, minutes=1)
    with pytest.raises(deals.DealConflict, match="window"):
        disputes.dispute_raise(deal=deal, by=world.closer, criterion=criterion, claim="x", now=late)


def test_upheld_returns_the_deal_once(world, deal, criterion):
    dispute = raise_dispute(world, deal, criterion)
    disputes.dispute_comment(dispute=dispute, by=world.qualifier, text="He said custom")
    ruled = disputes.dispute_resolve(dispute=dispute, by=world.head, outcome="upheld", note="ok")
    assert (ruled.outcome, ruled.resolved_by, ruled.qualifier_comment) == (
        "upheld",
        world.head,
        "He said custom",
    )
    assert Deal.objects.get(pk=deal.pk).stage == "returned"
    with pytest.raises(deals.DealConflict, match="already resolved"):
        disputes.dispute_resolve(dispute=dispute, by=world.head, outcome="rejected")


def test_rejected_leaves_the_deal_with_the_closer(world, deal, criterion):
    dispute = raise_dispute(world, deal, criterion)
    disputes.dispute_resolve(dispute=dispute, by=world.head, outcome="rejected")
    deal.refresh_from_db()
    assert (deal.stage, deal.closer) == ("accepted", world.closer)


def test_nobody_rules_on_their_own_deal_or_without_managing_a_team(world, deal, criterion):
    dispute = raise_dispute(world, deal, criterion)
    for user in (world.closer, world.qualifier, world.teammate, world.outsider):
        assert not access.may_rule(user, dispute)
        with pytest.raises(PermissionDenied):
            disputes.dispute_resolve(dispute=dispute, by=user, outcome="upheld")
    world.sales.manager = world.closer  # the closer manages the team: still their own deal
    world.sales.save()
    assert not access.may_rule(world.closer, dispute)


def test_only_the_qualifier_comments(world, deal, criterion):
    dispute = raise_dispute(world, deal, criterion)
    with pytest.raises(PermissionDenied):
        disputes.dispute_comment(dispute=dispute, by=world.teammate, text="x")


def test_a_deal_nobody_accepts_alerts_the_sales_head(world):
    now = timezone.now()
    deal = make_deal(world, now=now)
    assert acceptance_sweep(now=now + timedelta(hours=1)) == 0
    assert acceptance_sweep(now=now + timedelta(hours=world.sales.acceptance_hours)) == 1
    assert Notification.objects.filter(recipient=world.head, kind="deal_not_accepted").count() == 1
    assert acceptance_sweep(now=now + timedelta(hours=9)) == 0
    assert deal.pk


def test_an_accepted_deal_raises_no_acceptance_alert(world):
    now = timezone.now()
    deal = make_deal(world, now=now)
    deals.deal_accept(deal=deal, by=world.closer, now=now + timedelta(minutes=30))
    assert acceptance_sweep(now=now + timedelta(days=1)) == 0


def test_the_qualification_teams_manager_can_uphold_too(world, deal, criterion):
    world.team.manager = UserFactory(username="call_centre_head", role="Sales head")
    world.team.save()
    dispute = raise_dispute(world, deal, criterion)
    disputes.dispute_resolve(dispute=dispute, by=world.team.manager, outcome="upheld")
    assert Deal.objects.get(pk=deal.pk).stage == "returned"


def test_a_dispute_names_a_criterion_the_lead_was_qualified_on(world, deal):
    other = make_criterion("budget", question="Budget", kind="number", required=False)
    with pytest.raises(ValidationError) as error:
        disputes.dispute_raise(deal=deal, by=world.closer, criterion=other, claim="x")
    assert "criterion" in error.value.message_dict


def test_acceptance_alert_without_a_manager_tells_the_closers(world):
    world.sales.manager = None
    world.sales.save()
    now = timezone.now()
    make_deal(world, now=now)
    acceptance_sweep(now=now + timedelta(hours=3))
    assert Notification.objects.filter(recipient=world.closer, kind="deal_not_accepted").exists()


def test_only_the_sales_teams_manager_reassigns(world):
    deal = make_deal(world)
    with pytest.raises(PermissionDenied):
        deals.deal_assign(deal=deal, by=world.closer, closer=world.closer)
