"""The deal API shows its contact with every phone and e-mail (issue 13, item 5), in the
lead API's shape: phones [{number, kind, ext}], emails [{address, kind}]."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from handoff.services import lead_convert
from leads import services
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def _deal(world, name: str = "Анна Ли", phone: str = "+79161234567", n: int = 0):
    lead = make_lead(world.team, name=name, phone=phone, email=f"anna{n}@example.com")
    services.lead_contact_update(
        lead=lead,
        by=world.head,
        phones=[(phone, "mobile", ""), (f"+7495123456{n}", "work", "12")],
        emails=[(f"anna{n}@example.com", "work"), (f"anna{n}@home.example", "home")],
    )
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    services.lead_check(lead=lead, by=world.qualifier)
    return lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales).deal


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_deal_shows_every_phone_and_e_mail_of_its_contact(world):
    deal = _deal(world)
    lead_body = _client(world.head).get(f"/api/v1/leads/{deal.lead_id}/").json()
    body = _client(world.closer).get(f"/api/v1/deals/{deal.pk}/").json()
    assert body["contact"] == "Анна Ли"  # unchanged: the contact's name
    contact = body["contact_details"]
    assert (contact["id"], contact["name"]) == (deal.contact_id, "Анна Ли")
    assert (contact["phone"], contact["email"]) == ("+79161234567", "anna0@example.com")
    assert contact["phones"] == [
        {"number": "+79161234567", "kind": "mobile", "ext": ""},
        {"number": "+74951234560", "kind": "work", "ext": "12"},
    ]
    assert contact["emails"] == [
        {"address": "anna0@example.com", "kind": "work"},
        {"address": "anna0@home.example", "kind": "home"},
    ]
    # The same shape as the lead API's.
    assert contact["phones"] == lead_body["phones"]
    assert contact["emails"] == lead_body["emails"]


def test_the_deal_list_reads_the_contacts_points_in_one_query(world):
    for n in range(3):
        _deal(world, name=f"Клиент {n}", phone=f"+7916123450{n}", n=n)
    client = _client(world.closer)
    with CaptureQueriesContext(connection) as three:
        body = client.get("/api/v1/deals/").json()
    assert all(len(d["contact_details"]["phones"]) == 2 for d in body["results"])
    _deal(world, name="Клиент 9", phone="+79161234509", n=9)
    with CaptureQueriesContext(connection) as four:
        client.get("/api/v1/deals/")
    assert len(four) == len(three)
