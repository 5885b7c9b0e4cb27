"""A reference given by id or slug: a string of Unicode digits that int() refuses ("²", found
by schemathesis on PostgreSQL) is an unknown slug (400), never a server error."""

from rest_framework.test import APIClient

from tests.factories import make_lead


def test_a_superscript_digit_is_an_unknown_reason_not_a_500(world):
    lead = make_lead(world.team)
    client = APIClient()
    client.force_authenticate(world.qualifier)
    answer = client.post(f"/api/v1/leads/{lead.pk}/junk/", {"reason": "²"}, format="json")
    assert answer.status_code == 400
