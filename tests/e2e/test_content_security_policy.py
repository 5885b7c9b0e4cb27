"""Each role's pages under the Content-Security-Policy in a real browser: nothing refused, and
the live parts (htmx) still work."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login
from tests.factories import make_deal, make_lead

PAGES = {
    "qualifier": ["/leads/", "/leads/{lead}/", "/leads/new/", "/notifications/"],
    "closer": ["/deals/", "/deals/{deal}/"],
    "head": [
        "/reports/",
        "/reports/insights/",
        "/reports/leaderboard/",
        "/reports/calls/",
        "/leads/sla/",
    ],
}


def _watch_refusals(page: Page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: refused.append(str(error)))
    return refused


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_of_a_role_runs_under_the_policy(page: Page, live_server, world, role):
    lead = make_lead(world.team)
    deal = make_deal(world)
    refused = _watch_refusals(page)
    login(page, live_server, role)
    for path in PAGES[role]:
        page.goto(live_server.url + path.format(lead=lead.pk, deal=deal.pk))
        page.wait_for_load_state("networkidle")
    # The bell's icon is swapped in by htmx after the page loads: htmx runs.
    expect(page.locator("#bell .bell-icon")).to_be_attached()
    assert refused == []


def test_the_queue_refreshes_itself_under_the_policy(page: Page, live_server, world):
    refused = _watch_refusals(page)
    login(page, live_server, "qualifier")
    page.goto(f"{live_server.url}/leads/")
    make_lead(world.team, name="Пришёл Сейчас", phone="+79169990011")
    expect(page.get_by_text("Пришёл Сейчас")).to_be_visible(timeout=10_000)
    assert refused == []


def test_the_api_docs_render_for_a_logged_in_user(page: Page, live_server, world):
    refused = _watch_refusals(page)
    login(page, live_server, "qualifier")
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/intake/").first).to_be_visible()
    assert refused == []


def test_the_settings_pages_work_under_the_policy(page: Page, live_server, world):
    from tests.factories import UserFactory

    UserFactory(username="admin", is_staff=True, is_superuser=True)
    refused = _watch_refusals(page)
    login(page, live_server, "admin")
    product = ["/settings/", "/settings/criteria/", "/settings/criteria/add/"]
    product += ["/settings/sources/", "/settings/reasons/", f"/settings/teams/{world.team.pk}/"]
    for path in ["/admin/", "/admin/leads/criterion/add/", "/admin/leads/leadsource/", *product]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    # The live preview (htmx) runs: typing a question shows it in the script.
    page.goto(live_server.url + "/settings/criteria/add/")
    page.locator("#id_question").fill("Срок установки")
    expect(page.locator("#script-preview")).to_contain_text("Срок установки")
    assert refused == []
