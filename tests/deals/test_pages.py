from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal, VisitSlot
from tests.factories import make_deal, make_lead

pytestmark = pytest.mark.django_db


def test_the_closer_board_shows_the_pool_and_picks_up(client, world):
    deal = make_deal(world, name="Иван Петров")
    client.force_login(world.closer)
    assert "Иван Петров" in client.get(reverse("deals:board")).content.decode()
    client.post(reverse("deals:accept", args=[deal.pk]))
    assert Deal.objects.get(pk=deal.pk).closer == world.closer


def test_the_deal_page_shows_what_was_handed_over(client, world):
    deal = make_deal(world, name="Иван Петров", message="Угловая кухня")
    client.force_login(world.closer)
    html = client.get(reverse("deals:detail", args=[deal.pk])).content.decode()
    assert "Угловая кухня" in html and "reached" in html


def test_another_teams_deal_is_404_for_every_route(client, world):
    deal = make_deal(world)
    for user in (world.outsider, world.qualifier):
        client.force_login(user)
        assert client.get(reverse("deals:detail", args=[deal.pk])).status_code == 404
        for route in ("accept", "propose", "win", "lose", "note", "meeting"):
            assert client.post(reverse(f"deals:{route}", args=[deal.pk])).status_code == 404


@pytest.mark.parametrize(
    ("route", "data", "field", "form"),
    [
        ("win", {"amount": "-5"}, "amount", "win_form"),
        ("win", {"amount": "lots"}, "amount", "win_form"),
        ("lose", {}, "reason", "lose_form"),
        ("meeting", {"at": "tomorrow", "address": "x"}, "at", "meeting_form"),
        ("meeting", {"at": "2030-01-01T10:00"}, "address", "meeting_form"),
        ("note", {"text": ""}, "text", "note_form"),
    ],
)
def test_bad_deal_input_gets_field_errors_and_changes_nothing(
    client, world, route, data, field, form
):
    deal = make_deal(world)
    client.force_login(world.closer)
    client.post(reverse("deals:accept", args=[deal.pk]))
    response = client.post(reverse(f"deals:{route}", args=[deal.pk]), data)
    assert response.status_code == 400
    assert field in response.context[form].errors
    assert Deal.objects.get(pk=deal.pk).stage == "accepted"


def test_closer_opens_visit_slots_and_a_qualifier_books_one_while_converting(client, world):
    client.force_login(world.closer)
    day = (timezone.localtime() + timedelta(days=2)).date()
    client.post(
        reverse("deals:slots"),
        {"day": day, "start": "10:00", "end": "16:00", "visit_minutes": "120"},
    )
    assert VisitSlot.objects.filter(closer=world.closer).count() == 3
    slot = VisitSlot.objects.order_by("starts_at").first()
    lead = make_lead(world.team)
    from leads import services

    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    services.lead_check(lead=lead, by=world.qualifier)
    client.force_login(world.qualifier)
    panel = client.get(reverse("handoff:convert", args=[lead.pk])).content.decode()
    assert f'value="{slot.pk}"' in panel
    client.post(
        reverse("handoff:convert", args=[lead.pk]), {"slot": slot.pk, "address": "Ленина, 5, кв. 3"}
    )
    deal = Deal.objects.get(lead=lead)
    assert (deal.closer, deal.meeting_at, deal.meeting_address) == (
        world.closer,
        slot.starts_at,
        "Ленина, 5, кв. 3",
    )
    slot.refresh_from_db()
    assert slot.deal == deal


def test_booking_without_an_address_is_refused_and_nothing_happens(client, world):
    slot = VisitSlot.objects.create(
        closer=world.closer,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
    )
    lead = make_lead(world.team)
    from leads import services

    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    services.lead_check(lead=lead, by=world.qualifier)
    client.force_login(world.qualifier)
    response = client.post(
        reverse("handoff:convert", args=[lead.pk]), {"slot": slot.pk}, follow=True
    )
    assert "Where is the site visit?" in response.content.decode()
    assert not Deal.objects.exists()


def test_contact_page_shows_the_persons_deals_and_leads(client, world):
    first = make_deal(world, company_name="Alpha")
    make_deal(world, phone="8 916 123 45 67", company_name="Beta")
    client.force_login(world.closer)
    html = client.get(reverse("deals:contact", args=[first.contact_id])).content.decode()
    assert "Alpha" in html and "Beta" in html
    client.force_login(world.outsider)
    assert client.get(reverse("deals:contact", args=[first.contact_id])).status_code == 404
