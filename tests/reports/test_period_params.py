"""The period a report is asked for arrives from outside: a date out of the calendar's reach
is a 400 (a form error on the page), never a server error."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

API = "/api/v1/reports/teams/"
OUT_OF_RANGE = [
    {"to": "0001-01-01"},
    {"from": "0001-01-01"},
    {"from": "9999-12-31"},
    {"from": "9999-12-30", "to": "9999-12-31"},
    {"from": "1999-12-31", "to": "2000-01-05"},
    {"to": "2101-01-01"},
]


@pytest.fixture
def api(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.head)
    return client


@pytest.mark.parametrize("query", OUT_OF_RANGE)
@pytest.mark.parametrize("csv", [False, True])
def test_an_out_of_range_date_is_400_in_json_from_the_api(api, query, csv):
    response = api.get(API, {**query, **({"format": "csv"} if csv else {})})
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert "2000 and 2100" in str(response.json())


@pytest.mark.parametrize("query", OUT_OF_RANGE)
# Not "page": pytest-playwright takes a test asking for that name for a browser test.
@pytest.mark.parametrize("route", ["reports:teams", "reports:leaderboard", "reports:insights"])
def test_an_out_of_range_date_is_a_form_error_on_the_pages(client, world, query, route):
    client.force_login(world.head)
    response = client.get(reverse(route), query)
    assert response.status_code in (200, 400)
    assert "2000 and 2100" in response.content.decode()


@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_an_out_of_range_date_is_a_form_error_on_the_person_report(client, world, query):
    client.force_login(world.head)
    response = client.get(reverse("reports:person", args=[world.qualifier.pk]), query)
    assert response.status_code == 400
    assert "2000 and 2100" in response.content.decode()


def test_the_csv_download_with_a_bad_period_is_the_page_with_its_error(client, world):
    client.force_login(world.head)
    response = client.get(reverse("reports:teams"), {"to": "0001-01-01", "format": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_the_edges_of_the_range_are_reports(api):
    assert api.get(API, {"from": "2000-01-01", "to": "2000-01-31"}).status_code == 200
    response = api.get(API, {"from": "2100-12-01", "to": "2100-12-31", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
