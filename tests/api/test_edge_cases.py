"""Edge-case requests that once answered 500: each now gets a clear 4xx and changes nothing."""

import base64

import pytest
from rest_framework.test import APIClient

from leads.models import Lead, LeadSource
from tests.factories import make_criterion, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.qualifier)
    return client


@pytest.mark.parametrize("position", ["2024-01-01 00:00:00", "0001-01-01T00:00:00+00:00", "junk"])
def test_a_forged_cursor_is_404_not_500(api, world, position):
    make_lead(world.team)
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    for route in ("/api/v1/leads/", "/api/v1/deals/"):
        assert api.get(route, {"cursor": cursor}).status_code == 404


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_out_of_range_dates_in_filters_are_400(api, world, moment):
    assert api.get("/api/v1/leads/", {"created_after": moment}).status_code == 400


def test_a_callback_years_ahead_is_400(api, world):
    lead = make_lead(world.team)
    body = {"outcome": "callback", "callback_at": "9999-12-31T23:59:59+03:00"}
    response = api.post(f"/api/v1/leads/{lead.pk}/attempts/", body, format="json")
    assert response.status_code == 400
    assert "callback_at" in response.json()
    assert not lead.attempts.exists()


@pytest.mark.parametrize("value", ["1e1000000", "1e600", "1e-600", "1e999999"])
def test_absurd_numbers_are_not_answers(api, world, value):
    make_criterion("budget", question="Budget", kind="number", min_value=250000)
    lead = make_lead(world.team)
    response = api.post(
        f"/api/v1/leads/{lead.pk}/answers/", {"criterion": "budget", "value": value}, format="json"
    )
    assert response.status_code == 400
    assert not lead.answers.exists()


@pytest.mark.parametrize("field", ["name", "message", "external_id", "utm_source"])
def test_null_characters_in_intake_are_400(world, field):
    source = LeadSource.objects.get()
    source.team = world.team
    source.save()
    body = {"phone": "+79161234567", field: "a\u0000b"}
    response = APIClient().post(
        "/api/v1/intake/", body, format="json", HTTP_X_INTAKE_KEY=source.intake_key
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


def test_a_null_character_in_the_key_is_401(world):
    response = APIClient().post("/api/v1/intake/?key=%00", {"phone": "+79161234567"}, format="json")
    assert response.status_code == 401


# Every API endpoint reads JSON through crm.api.JSONParser (settings: DEFAULT_PARSER_CLASSES).
DEEP = "[" * 100_000 + "]" * 100_000  # past the parser's own stack: a RecursionError
NESTED = '{"a":' * 21 + "1" + "}" * 21  # parsed, but deeper than any form or call we read


@pytest.mark.parametrize("body", [DEEP, NESTED], ids=["past-the-stack", "over-the-limit"])
@pytest.mark.parametrize("action", ["attempts", "answers", "junk", "convert"])
def test_json_nested_too_deep_is_400_on_any_endpoint(api, world, body, action):
    lead = make_lead(world.team)
    response = api.post(f"/api/v1/leads/{lead.pk}/{action}/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The JSON is nested more than 20 levels deep."}
    assert not lead.attempts.exists() and not lead.answers.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # A choice field echoed the value into its error: no UTF-8 answer could hold it (500).
        ('{"outcome": "\\ud800", "note": "x"}', "outcome"),
        ('{"outcome": "no_answer", "note": ["\\udfff"]}', "note"),
        ('{"\\ud800": "x"}', "non_field_errors"),  # a key that holds one is named by nobody
    ],
)
def test_a_lone_surrogate_is_400_naming_the_field_on_any_endpoint(api, world, body, field):
    lead = make_lead(world.team)
    response = api.post(f"/api/v1/leads/{lead.pk}/attempts/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {field: ["The text holds an invalid character (a lone surrogate)."]}
    assert not lead.attempts.exists()
