"""Deliveries outside the SLA sweep: an alert told to several people through notify() is one
webhook post, with one key, and an e-mail to each of them."""

import pytest
from django.utils import timezone

from crm.notifications.models import Delivery, Notification
from crm.notifications.services import Message, delivery_send, notify
from tests.webhook import WebhookReceiver

pytestmark = pytest.mark.django_db


def test_one_alert_to_a_whole_team_is_one_webhook_post_and_an_email_each(world):
    people = [world.qualifier, world.teammate, world.head]
    for person in people:
        person.email = f"{person.username}@example.ru"
        person.save()
    now = timezone.now()
    with WebhookReceiver() as receiver:
        notes = notify(
            [
                Message(
                    recipient=person,
                    kind="deal_not_accepted",
                    message="Nobody has accepted the deal with %(contact)s yet.",
                    params={"contact": "Иван Петров"},
                    url="/deals/1/",
                    webhook_url=receiver.url,
                )
                for person in people
            ],
            now,
        )
        assert Notification.objects.count() == 3
        assert Delivery.objects.filter(channel="email").count() == 3
        hook = Delivery.objects.get(channel="webhook")
        assert delivery_send(hook.pk, now=now)
    first = min(note.pk for note in notes)
    assert receiver.keys == [f"notification-{first}"]
    assert receiver.bodies[0]["key"] == f"notification-{first}"
    assert receiver.bodies[0]["recipients"] == [p.username for p in people]
    assert receiver.bodies[0]["text"] == "Nobody has accepted the deal with Иван Петров yet."
