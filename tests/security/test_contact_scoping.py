"""Contacts by id: the same person handed off to two sales teams is two contacts, and changing
the id in a URL never opens the other team's. Admins see both."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.teams.models import Role, Team
from deals.models import Contact
from handoff.services import lead_convert
from leads import services
from tests.factories import TeamFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


def hand_off(qualification: Team, sales: Team, qualifier, **fields):
    lead = make_lead(qualification, **fields)
    services.lead_attempt_log(lead=lead, by=qualifier, outcome="reached")
    services.lead_check(lead=lead, by=qualifier)
    return lead_convert(lead=lead, by=qualifier, sales_team=sales).deal


@pytest.fixture
def two_deals(world):
    sales_b = TeamFactory(name="Field sales", kind=Team.Kind.SALES, assignment="pool")
    closer_b = UserFactory(username="closer_b", role=Role.CLOSER)
    head_b = UserFactory(username="head_b", role=Role.SALES_HEAD)
    sales_b.members.add(closer_b)
    sales_b.manager = head_b
    sales_b.save()
    world.other_team.hands_off_to.add(sales_b)
    world.sales.assignment = "pool"
    world.sales.save()
    deal_a = hand_off(world.team, world.sales, world.qualifier, name="Иван Петров")
    deal_b = hand_off(world.other_team, sales_b, world.outsider, name="Пётр Сидоров")
    return deal_a, deal_b, {"a": (world.closer, world.head), "b": (closer_b, head_b)}


def test_another_sales_teams_contact_of_the_same_phone_is_404(client, world, two_deals):
    deal_a, deal_b, people = two_deals
    assert deal_a.contact.phone == deal_b.contact.phone
    for own, other, side in ((deal_a, deal_b, "a"), (deal_b, deal_a, "b")):
        for user in people[side]:
            client.force_login(user)
            assert client.get(reverse("deals:contact", args=[own.contact_id])).status_code == 200
            assert client.get(reverse("deals:contact", args=[other.contact_id])).status_code == 404
    for user in (world.qualifier, world.outsider, world.teammate):
        client.force_login(user)
        for deal in (deal_a, deal_b):
            assert client.get(reverse("deals:contact", args=[deal.contact_id])).status_code == 404


def test_no_contact_id_opens_outside_its_team(client, two_deals):
    deal_a, _, people = two_deals
    client.force_login(people["a"][0])
    ids = set(Contact.objects.values_list("pk", flat=True)) | {0, 10**9}
    opened = {pk for pk in ids if client.get(f"/deals/contacts/{pk}/").status_code == 200}
    assert opened == {deal_a.contact_id}


def test_the_api_lists_only_the_teams_own_deals_with_their_contact(two_deals):
    deal_a, deal_b, people = two_deals
    for own, other, side in ((deal_a, deal_b, "a"), (deal_b, deal_a, "b")):
        for user in people[side]:
            api = APIClient()
            api.force_authenticate(user)
            body = api.get("/api/v1/deals/").json()
            assert [(d["id"], d["contact"]) for d in body["results"]] == [
                (own.pk, own.contact.name)
            ]
            assert other.contact.name not in str(body)
            assert api.get(f"/api/v1/deals/{other.pk}/").status_code == 404
            assert api.get(f"/api/v1/deals/?team={other.team_id}").json()["results"] == []


def test_an_admin_sees_both_contacts(client, two_deals):
    deal_a, deal_b, _ = two_deals
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    for deal in (deal_a, deal_b):
        html = client.get(reverse("deals:contact", args=[deal.contact_id])).content.decode()
        assert deal.contact.name in html
    listed = client.get("/admin/deals/contact/").content.decode()
    assert "Иван Петров" in listed and "Пётр Сидоров" in listed and "Field sales" in listed
