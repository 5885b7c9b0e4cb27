import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from deals.models import Deal, LossReason
from leads import services
from leads.models import Lead
from tests.factories import make_criterion, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.qualifier)
    return client


def test_token_auth(world):
    token = Token.objects.create(user=world.qualifier)
    make_lead(world.team)
    client = APIClient()
    assert client.get("/api/v1/leads/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/v1/leads/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get("/api/v1/leads/").status_code == 401


def test_session_auth_needs_csrf_for_writes(client, world):
    lead = make_lead(world.team)
    client.force_login(world.qualifier)
    assert client.get(f"/api/v1/leads/{lead.pk}/").status_code == 200
    strict = APIClient(enforce_csrf_checks=True)
    strict.force_login(world.qualifier)
    assert strict.post(f"/api/v1/leads/{lead.pk}/check/").status_code == 403


def test_another_teams_lead_is_404_through_the_api(world):
    lead = make_lead(world.team)
    client = APIClient()
    client.force_authenticate(world.outsider)
    assert client.get(f"/api/v1/leads/{lead.pk}/").status_code == 404
    for action, body in [
        ("attempts", {"outcome": "reached"}),
        ("answers", {}),
        ("check", {}),
        ("junk", {"reason": "spam"}),
        ("convert", {}),
    ]:
        assert client.post(f"/api/v1/leads/{lead.pk}/{action}/", body).status_code == 404
    assert client.get("/api/v1/leads/").json()["results"] == []
    assert Lead.objects.get(pk=lead.pk).state == "new"


def test_lead_list_filters_and_cursor_pages(api, world):
    for i in range(5):
        make_lead(world.team, name=f"Лид Номер{i}")
    page = api.get("/api/v1/leads/", {"page_size": 2, "state": "new"}).json()
    assert len(page["results"]) == 2
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 2
    assert api.get("/api/v1/leads/", {"state": "junk"}).json()["results"] == []
    assert api.get("/api/v1/leads/", {"source": "website"}).json()["results"]
    assert api.get("/api/v1/leads/", {"created_after": "not-a-date"}).status_code == 400


def test_claim_next_then_empty_queue(api, world):
    lead = make_lead(world.team)
    response = api.post("/api/v1/leads/claim-next/")
    assert (response.status_code, response.json()["id"]) == (200, lead.pk)
    services.lead_attempt_log(
        lead=Lead.objects.get(pk=lead.pk), by=world.qualifier, outcome="reached"
    )
    assert api.post("/api/v1/leads/claim-next/").status_code == 204


def test_attempt_answer_check_convert_through_the_api(api, world):
    make_criterion()
    lead = make_lead(world.team)
    assert api.post(f"/api/v1/leads/{lead.pk}/check/").status_code == 409
    response = api.post(
        f"/api/v1/leads/{lead.pk}/attempts/",
        {"outcome": "reached", "duration_s": 40},
        format="json",
    )
    assert response.status_code == 201
    response = api.post(
        f"/api/v1/leads/{lead.pk}/answers/",
        {"criterion": "kitchen-type", "value": "custom"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["score"] == 100
    assert api.post(f"/api/v1/leads/{lead.pk}/check/").json()["state"] == "checked"
    response = api.post(
        f"/api/v1/leads/{lead.pk}/convert/", {"closer": world.closer.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "converted"
    assert Deal.objects.get(lead=lead).closer == world.closer
    assert api.post(f"/api/v1/leads/{lead.pk}/convert/").status_code == 409


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("attempts", {"outcome": "teleported"}, "outcome"),
        ("attempts", {"outcome": "reached", "duration_s": -1}, "duration_s"),
        ("attempts", {"outcome": "callback"}, "callback_at"),
        ("answers", {"criterion": "nope", "value": "x"}, "criterion"),
        ("answers", {"criterion": "kitchen-type", "value": "spaceship"}, "__all__"),
        ("junk", {}, "reason"),
        ("junk", {"reason": "no-such-reason"}, "reason"),
        ("convert", {"closer": 999999}, "closer"),
    ],
)
def test_bad_bodies_get_400_with_field_errors_and_change_nothing(api, world, action, body, field):
    make_criterion()
    lead = make_lead(world.team)
    response = api.post(f"/api/v1/leads/{lead.pk}/{action}/", body, format="json")
    assert response.status_code in (400, 409)
    if response.status_code == 400 and field != "__all__":
        assert field in response.json()
    lead.refresh_from_db()
    assert (lead.state, lead.attempts.count(), lead.answers.count()) == ("new", 0, 0)


def test_junk_with_reason_and_conflict(api, world):
    lead = make_lead(world.team)
    response = api.post(
        f"/api/v1/leads/{lead.pk}/junk/", {"reason": "spam", "note": "bot"}, format="json"
    )
    assert (response.status_code, response.json()["state"]) == (200, "junk")
    again = api.post(f"/api/v1/leads/{lead.pk}/junk/", {"reason": "spam"}, format="json")
    assert again.status_code == 409


def test_reference_lists_have_id_and_slug(api, world):
    make_criterion()
    LossReason.objects.create(name="Too expensive", slug="price")
    for route in ("criteria", "junk-reasons", "loss-reasons", "sources"):
        items = api.get(f"/api/v1/{route}/").json()
        assert items and {"id", "slug"} <= set(items[0]), route


def test_schema_and_docs_are_served(client, world):
    client.force_login(world.qualifier)
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200


def test_reference_items_can_be_named_by_id_too(api, world):
    from leads.models import JunkReason

    criterion = make_criterion()
    lead = make_lead(world.team)
    response = api.post(
        f"/api/v1/leads/{lead.pk}/answers/",
        {"criterion": criterion.pk, "value": "custom"},
        format="json",
    )
    assert response.status_code == 200
    reason = JunkReason.objects.get()
    response = api.post(f"/api/v1/leads/{lead.pk}/junk/", {"reason": reason.pk}, format="json")
    assert response.json()["state"] == "junk"
    assert api.post(
        f"/api/v1/leads/{lead.pk}/answers/", {"criterion": 99999, "value": "x"}, format="json"
    ).status_code in (400, 409)
