from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.deadlines.sweep import sweep
from crm.notifications.models import Notification
from leads import services
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def breached(world):
    lead = make_lead(world.team, name="Иван Петров", now=timezone.now() - timedelta(hours=1))
    sweep()
    return lead


def test_the_bell_counts_unread_and_the_inbox_marks_read(client, world, breached):
    client.force_login(world.head)
    assert client.get(reverse("notifications:badge")).content.decode().count(">1<") == 1
    notification = Notification.objects.get(recipient=world.head)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert "SLA breach: Иван Петров has not been called in time." in page
    response = client.get(reverse("notifications:open", args=[notification.pk]))
    assert response["Location"] == reverse("leads:detail", args=[breached.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_all_read(client, world, breached):
    client.force_login(world.qualifier)
    client.post(reverse("notifications:mark_all_read"))
    assert not Notification.objects.filter(recipient=world.qualifier, read_at=None).exists()


def test_someone_elses_notification_is_404(client, world, breached):
    client.force_login(world.qualifier)
    notification = Notification.objects.get(recipient=world.head)
    assert client.get(reverse("notifications:open", args=[notification.pk])).status_code == 404


def test_notifications_api_lists_only_mine(world, breached):
    api = APIClient()
    api.force_authenticate(world.head)
    items = api.get("/api/v1/notifications/").json()["results"]
    assert [i["kind"] for i in items] == ["lead_breach"]
    assert "Иван Петров" in items[0]["text"]


def test_notifications_read_in_the_readers_language(client, world, breached):
    client.force_login(world.head)
    page = client.get(reverse("notifications:inbox"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "SLA breach" not in page
    assert "Иван Петров" in page


def test_sla_now_shows_breaches_by_qualifier_to_the_manager(client, world, breached):
    lead = make_lead(
        world.team,
        name="Анна Смирнова",
        phone="+79031112233",  # another person: a duplicate would raise no alerts of its own
        now=timezone.now() - timedelta(minutes=16),
    )
    services.lead_claim_next(user=world.qualifier, teams=[world.team], now=timezone.now())
    sweep()
    client.force_login(world.head)
    html = client.get(reverse("leads:sla")).content.decode()
    assert "Иван Петров" in html and "Анна Смирнова" in html
    assert html.index("breach") < html.index("warning")
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    assert "Анна Смирнова" not in client.get(reverse("leads:sla")).content.decode()


def test_sla_now_is_for_managers(client, world):
    client.force_login(world.qualifier)
    assert client.get(reverse("leads:sla")).status_code == 403  # a page not for their role
