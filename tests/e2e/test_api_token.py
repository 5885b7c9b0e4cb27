"""An integrator's token from the product itself, in a real browser: the user opens their
profile from the header, creates a token, copies the key shown once, calls the API with it,
then revokes it and the same call is refused."""

from playwright.sync_api import Page, Playwright, expect

from tests.e2e.conftest import login
from tests.factories import make_lead


def test_create_use_and_revoke_an_api_token(page: Page, live_server, world, playwright: Playwright):
    lead = make_lead(world.team)
    login(page, live_server, "qualifier")
    page.locator("#profile-link").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")
    expect(page.locator("#token-status")).to_have_text("You have no API token.")

    page.get_by_role("button", name="Create a token").click()
    expect(page.get_by_role("alert")).to_contain_text("it will not be shown again")
    key = page.locator("#new-token").input_value()
    assert len(key) == 40

    # Another program: no browser cookies, only the header.
    api = playwright.request.new_context(base_url=live_server.url)
    try:
        answer = api.get("/api/v1/leads/", headers={"Authorization": f"Token {key}"})
        assert answer.status == 200
        assert [item["id"] for item in answer.json()["results"]] == [lead.pk]

        page.reload()  # the key is not shown again
        expect(page.locator("#token-status")).to_contain_text("You have an API token")
        expect(page.locator("#new-token")).to_have_count(0)

        page.get_by_role("button", name="Revoke the token").click()
        expect(page.locator(".messages")).to_contain_text("revoked")
        expect(page.locator("#token-status")).to_have_text("You have no API token.")
        refused = api.get("/api/v1/leads/", headers={"Authorization": f"Token {key}"})
        assert refused.status == 401
    finally:
        api.dispose()
