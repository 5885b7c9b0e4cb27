"""What an integrator gets back about a handoff: the convert answer names the new deal, and a
deal shows what its lead was handed over with (answers as given, calls, score, qualifier)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from deals.models import Deal
from leads import services
from leads.models import Criterion
from tests.factories import make_criterion, make_deal, make_lead

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _checked_lead(world):
    lead = make_lead(world.team)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="no_answer")
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached", duration_s=95)
    services.lead_check(lead=lead, by=world.qualifier)
    return lead


def test_convert_answers_the_lead_and_its_new_deal(world):
    lead = _checked_lead(world)
    response = _client(world.qualifier).post(
        f"/api/v1/leads/{lead.pk}/convert/", {"closer": world.closer.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    deal = Deal.objects.get(lead=lead)
    # The lead's fields, as every transition answers, and the deal it became.
    assert body["id"] == lead.pk
    assert body["state"] == "converted"
    assert body["deal"] == deal.pk
    assert body["closer"] == world.closer.pk
    assert body["sales_team"] == world.sales.pk
    assert body["deal_url"] == f"http://testserver/api/v1/deals/{deal.pk}/"
    assert _client(world.closer).get(body["deal_url"]).json()["id"] == deal.pk


def test_convert_to_the_pool_answers_no_closer(world):
    world.sales.assignment = "pool"
    world.sales.save()
    lead = _checked_lead(world)
    body = _client(world.qualifier).post(f"/api/v1/leads/{lead.pk}/convert/").json()
    assert body["deal"] == Deal.objects.get(lead=lead).pk
    assert body["closer"] is None


def test_a_deal_shows_what_its_lead_was_handed_over_with(world):
    kitchen = make_criterion()
    budget = make_criterion(
        "budget", question="Budget?", kind=Criterion.Kind.NUMBER, min_value=100, knock_out=False
    )
    deal = make_deal(world, answers={kitchen: "custom", budget: "5000"}, message="Кухня 3 м")
    # Edits after the handoff do not rewrite what the lead was qualified with.
    kitchen.question = "Changed later"
    kitchen.save()
    body = _client(world.closer).get(f"/api/v1/deals/{deal.pk}/").json()
    handed = body["qualification"]
    assert handed["qualifier"] == world.qualifier.pk
    assert handed["qualifier_name"]
    assert handed["score"] == 100
    assert handed["temperature"] == "hot"
    assert handed["message"] == "Кухня 3 м"
    answers = {answer["criterion"]: answer for answer in handed["answers"]}
    assert answers["kitchen-type"]["question"] == "Custom or modular?"
    assert answers["kitchen-type"]["value"] == "custom"
    assert answers["kitchen-type"]["label"] == "Custom"
    assert answers["kitchen-type"]["verdict"] == "good"
    assert answers["budget"]["value"] == "5000"
    [call] = handed["calls"]
    assert call["outcome"] == "reached"
    assert call["by"] == world.qualifier.pk
    assert {"duration_s", "at", "note", "callback_at"} <= set(call)


def test_the_deal_list_reads_qualifications_in_a_fixed_number_of_queries(world):
    make_criterion()
    kitchen = Criterion.objects.get()
    make_deal(world, answers={kitchen: "custom"})
    client = _client(world.closer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/deals/")
        assert response.status_code == 200
        return len(captured), response.json()["results"]

    one, results = queries()
    assert len(results) == 1
    for index in range(5):
        make_deal(world, answers={kitchen: "custom"}, phone=f"+7916123450{index}")
    six, results = queries()
    assert len(results) == 6
    assert all(deal["qualification"]["answers"] for deal in results)
    assert six == one, (one, six)  # no query per deal (N+1)
    # The deals (with their leads), then one each: answers, calls, conversion, contact points.
    assert six <= 5


def test_the_qualification_is_read_only(world):
    deal = make_deal(world)
    client = _client(world.closer)
    assert (
        client.put(f"/api/v1/deals/{deal.pk}/", {"qualification": {}}, format="json").status_code
        == 405
    )


def test_the_serializer_reads_the_qualifier_without_the_prefetch_too(world):
    from deals.api import DealSerializer

    deal = make_deal(world)
    data = DealSerializer(Deal.objects.get(pk=deal.pk)).data
    assert data["qualification"]["qualifier"] == world.qualifier.pk
