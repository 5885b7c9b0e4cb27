"""The deadline engine (crm/deadlines): kinds registered by the apps that own them, one sweep
over all of them, who is told written once."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.deadlines import registry
from crm.deadlines.models import Deadline
from crm.deadlines.sweep import sweep
from crm.notifications.models import Delivery, Notification
from crm.notifications.services import delivery_send
from deals import services as deals
from tests.factories import make_deal, make_lead
from tests.webhook import WebhookReceiver

pytestmark = pytest.mark.django_db


def test_the_owning_apps_register_their_kinds():
    kinds = registry.kinds()
    assert {code: kind.subject.field for code, kind in kinds.items()} == {
        "warn": "lead",
        "breach": "lead",
        "stall_remind": "lead",
        "stall_escalate": "lead",
        "acceptance": "deal",
    }
    told = {code: kind.tell for code, kind in kinds.items()}
    assert told["warn"] == told["stall_remind"] == registry.TELL_HOLDER
    assert told["breach"] == told["stall_escalate"] == told["acceptance"] == registry.TELL_MANAGER


def test_a_kind_registered_twice_differently_is_refused():
    warn = registry.kinds()["warn"]
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(registry.Kind(**{**warn.__dict__, "tell": registry.TELL_MANAGER}))
    assert registry.register(warn) is warn  # the same again is harmless


def test_the_acceptance_deadline_belongs_to_the_deal_and_is_cancelled_on_accept(world):
    now = timezone.now()
    deal = make_deal(world, now=now)
    acceptance = Deadline.objects.get(kind="acceptance")
    assert (acceptance.deal_id, acceptance.lead_id) == (deal.pk, None)
    assert not deal.lead.deadlines.filter(kind="acceptance").exists()
    deals.deal_accept(deal=deal, by=world.closer, now=now + timedelta(minutes=5))
    acceptance.refresh_from_db()
    assert acceptance.cancelled_at == now + timedelta(minutes=5)


def test_one_sweep_raises_lead_and_deal_deadlines_with_one_webhook_post_each(world):
    now = timezone.now()
    with WebhookReceiver() as receiver:
        for team in (world.team, world.sales):
            team.alert_webhook_url = receiver.url
            team.save()
        world.sales.manager = None  # no manager: the sales team's members hear of it
        world.sales.save()
        world.sales.members.add(world.closer)
        deal = make_deal(world, now=now)
        fresh = make_lead(world.team, phone="+79031112233", now=now)  # another person
        later = now + timedelta(hours=world.sales.acceptance_hours)
        assert sweep(now=later) == 3  # the deal's acceptance, the fresh lead's warn and breach
        assert sweep(now=later) == 0  # raised once
        acceptance = Deadline.objects.get(deal=deal, kind="acceptance")
        notes = Notification.objects.filter(kind="deal_not_accepted")
        assert {n.recipient for n in notes} == set(world.sales.members.filter(is_active=True))
        note = notes.first()
        assert note.url == f"/deals/{deal.pk}/"
        assert note.params == {"contact": deal.contact.name}
        assert note.text == f"Nobody has accepted the deal with {deal.contact.name} yet."
        hooks = Delivery.objects.filter(channel="webhook")
        for hook in hooks:
            assert delivery_send(hook.pk, now=later)
        raised = Deadline.objects.filter(raised_at=later)
        assert sorted(receiver.keys) == sorted(f"deadline-{d.pk}" for d in raised)
        assert f"deadline-{acceptance.pk}" in receiver.keys
        assert Notification.objects.filter(url=f"/leads/{fresh.pk}/", kind="lead_breach").exists()


def test_a_deadline_has_exactly_one_subject(world):
    deal = make_deal(world)
    for subject in ({}, {"lead": deal.lead, "deal": deal}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Deadline.objects.create(kind="warn", due_at=timezone.now(), **subject)
