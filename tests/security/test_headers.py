"""What the browser is told: a Content-Security-Policy without inline code, no caching of
pages and exports that carry customers' data, and an API schema that needs a login."""

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def test_pages_forbid_inline_scripts_and_styles_and_framing(client, world):
    client.force_login(world.qualifier)
    directives = _directives(client.get("/leads/"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in " ".join(directives.values())


@pytest.mark.parametrize(
    "path", ["/leads/{lead}/", "/leads/", "/leads/export.csv", "/api/v1/leads/"]
)
def test_pages_exports_and_api_answers_are_not_stored_by_the_browser(client, world, path):
    lead = make_lead(world.team)
    client.force_login(world.qualifier)
    response = client.get(path.format(lead=lead.pk))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]


def test_the_team_report_csv_is_not_stored_by_the_browser(client, world):
    client.force_login(world.head)
    response = client.get("/api/v1/reports/teams/?format=csv")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


def test_the_stylesheet_stays_cacheable(client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve it uncollected, as under bin/run
    settings.WHITENOISE_AUTOREFRESH = True
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_the_api_schema_needs_a_login_or_a_token(client, world):
    assert client.get("/api/v1/schema/").status_code == 401
    token = Token.objects.create(user=world.qualifier)
    response = client.get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert b"/api/v1/intake/" in response.content


def test_the_api_docs_send_a_browser_to_log_in_first(client, world):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    client.force_login(world.qualifier)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    assert b"<script>" not in page.content  # the initialiser is a separate file
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
