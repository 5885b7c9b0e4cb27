"""The inbox of a real day: a sweep's breaches are one line per team and hour, the bell counts
lines, a kind can be picked, a group or a kind marked read; the API keeps its fields."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from crm.deadlines.sweep import sweep as sla_sweep
from crm.notifications import groups
from crm.notifications.models import Notification
from crm.notifications.services import Message, notify
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def breaches(world, count: int, at: datetime, first_phone: int = 0) -> None:
    """`count` leads of the call centre nobody called: the sweep at `at` tells the head."""
    for n in range(count):
        make_lead(
            world.team,
            name=f"Лид {first_phone + n}",
            phone=f"+7916{first_phone + n:07d}",
            now=at - timedelta(hours=1),
        )
    sla_sweep(now=at)


def dispute_note(world, at: datetime) -> None:
    notify(
        [
            Message(
                recipient=world.head,
                kind="dispute",
                message="%(closer)s disputes the handoff of %(contact)s.",
                params={"closer": "Closer", "contact": "Иван"},
                url="/disputes/1/",
                team=world.sales,
            )
        ],
        at,
    )


def test_twelve_breaches_in_one_hour_are_one_line(client, world):
    breaches(world, 12, NOON)
    dispute_note(world, NOON + timedelta(minutes=5))
    client.force_login(world.head)
    found = groups.groups(groups.mine(world.head), 10)
    assert [(g.kind, g.count, g.text) for g in found] == [
        ("dispute", 1, "1 dispute in Showroom"),
        ("lead_breach", 12, "12 SLA breaches in Call centre"),
    ]
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert "12 SLA breaches in Call centre" in page
    assert "Closer disputes the handoff of Иван." in page  # a group of one reads as itself
    assert page.count("SLA breach: ") == 0
    # The bell counts lines, not rows.
    assert ">2<" in client.get(reverse("notifications:badge")).content.decode()


def test_an_hour_later_is_another_line(world):
    breaches(world, 3, NOON)
    breaches(world, 2, NOON + timedelta(hours=1, minutes=5), first_phone=100)
    assert [g.count for g in groups.groups(groups.mine(world.head), 10)] == [2, 3]
    assert groups.unread_groups(world.head) == 2


def test_a_group_opens_as_its_notifications_and_is_marked_read_alone(client, world):
    breaches(world, 3, NOON)
    dispute_note(world, NOON)
    client.force_login(world.head)
    [group] = [g for g in groups.groups(groups.mine(world.head), 10) if g.kind == "lead_breach"]
    page = client.get(reverse("notifications:inbox"), {"group": group.key}).content.decode()
    assert page.count("SLA breach: Лид") == 3 and "disputes the handoff" not in page
    client.post(reverse("notifications:mark_all_read"), {"group": group.key})
    unread = Notification.objects.filter(recipient=world.head, read_at=None)
    assert list(unread.values_list("kind", flat=True)) == ["dispute"]


def test_filter_by_kind_and_mark_that_kind_read(client, world):
    breaches(world, 3, NOON)
    dispute_note(world, NOON)
    client.force_login(world.head)
    page = client.get(reverse("notifications:inbox"), {"kind": "dispute"}).content.decode()
    assert "disputes the handoff" in page and "SLA breaches in" not in page
    assert "Mark these as read" in page
    response = client.post(reverse("notifications:mark_all_read"), {"kind": "dispute"})
    assert response["Location"] == reverse("notifications:inbox") + "?kind=dispute"
    unread = Notification.objects.filter(recipient=world.head, read_at=None)
    assert set(unread.values_list("kind", flat=True)) == {"lead_breach"}
    unread_page = client.get(reverse("notifications:inbox"), {"unread": "1"}).content.decode()
    assert (
        "SLA breaches in Call centre" in unread_page and "disputes the handoff" not in unread_page
    )


@pytest.mark.parametrize(
    "query", [{"kind": "nonsense"}, {"group": "lead_breach:x:2026"}, {"group": "a:1:20261399"}]
)
def test_a_filter_that_names_nothing_is_a_clear_error(client, world, query):
    breaches(world, 2, NOON)
    client.force_login(world.head)
    response = client.get(reverse("notifications:inbox"), query)
    assert response.status_code == 400
    assert "showing them all" in response.content.decode()
    assert "SLA breaches in Call centre" in response.content.decode()
    # …and marks nothing read.
    response = client.post(reverse("notifications:mark_all_read"), query, follow=True)
    assert "Nothing was marked as read" in response.content.decode()
    assert Notification.objects.filter(recipient=world.head, read_at=None).count() == 2


def test_mark_all_read_still_marks_everything(client, world):
    breaches(world, 2, NOON)
    dispute_note(world, NOON)
    client.force_login(world.head)
    client.post(reverse("notifications:mark_all_read"))
    assert not Notification.objects.filter(recipient=world.head, read_at=None).exists()
    assert (
        ">" not in client.get(reverse("notifications:badge")).content.decode().split("</span>")[-1]
    )


def test_groups_read_in_russian(client, world):
    breaches(world, 5, NOON)
    client.force_login(world.head)
    page = client.get(reverse("notifications:inbox"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "5 нарушений SLA в команде «Call centre»" in page


def test_the_api_keeps_its_fields_adds_team_and_group_and_filters_by_kind(world):
    breaches(world, 2, NOON)
    dispute_note(world, NOON)
    api = APIClient()
    api.force_authenticate(world.head)
    items = api.get("/api/v1/notifications/").json()["results"]
    assert {"id", "kind", "text", "url", "created_at", "read_at", "team", "group"} <= set(items[0])
    breach = [i for i in items if i["kind"] == "lead_breach"]
    assert {i["group"] for i in breach} == {f"lead_breach:{world.team.pk}:2026113009"}
    assert {i["team"] for i in breach} == {world.team.pk}
    only = api.get("/api/v1/notifications/", {"kind": "dispute"}).json()["results"]
    assert [i["kind"] for i in only] == ["dispute"]
    bad = api.get("/api/v1/notifications/", {"kind": "nonsense"})
    assert bad.status_code == 400 and "kind" in bad.json()


def test_a_notification_written_before_teams_were_kept_still_groups(world):
    with time_machine.travel(NOON, tick=False):
        Notification.objects.bulk_create(
            Notification(
                recipient=world.head,
                kind="lead_breach",
                message="SLA breach: %(lead)s has not been called in time.",
                params={"lead": f"#{n}"},
                created_at=NOON,
            )
            for n in range(3)
        )
    [group] = groups.groups(groups.mine(world.head), 10)
    assert (group.count, group.text) == (3, "SLA breaches: 3")
