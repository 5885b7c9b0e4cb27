"""Menus by role, and the product's own refusal pages (issue 15.2), in English and Russian."""

from playwright.sync_api import Page, expect

from tests.e2e.conftest import login
from tests.factories import make_deal


def menu_of(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("header nav a").all_inner_texts()]


def test_a_closer_sees_no_queue_and_no_new_lead(page: Page, live_server, world):
    login(page, live_server, "closer")
    expect(page.locator("header nav")).to_contain_text("Deals")
    assert menu_of(page) == ["Deals", "Disputes", "Leaderboard"]


def test_a_qualifier_sees_no_deals_and_no_reports(page: Page, live_server, world):
    login(page, live_server, "qualifier")
    expect(page.locator("header nav")).to_contain_text("Queue")
    assert menu_of(page) == ["Queue", "New lead", "Disputes", "Leaderboard"]


def test_new_lead_as_a_closer_is_our_403_page_in_both_languages(
    page: Page, live_server, world, settings
):
    settings.DEBUG = True  # as under bin/run: the refusal is still the product's page
    login(page, live_server, "closer")
    response = page.goto(f"{live_server.url}/leads/new/")
    assert response.status == 403
    expect(page.locator("#refusal h1")).to_have_text("Not allowed")
    expect(page.locator("header nav")).to_contain_text("Deals")  # the product's layout
    page.locator("#way-back").click()
    expect(page).to_have_url(f"{live_server.url}/deals/")

    page.locator("header form.lang button[value=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    response = page.goto(f"{live_server.url}/leads/new/")
    assert response.status == 403
    expect(page.locator("#refusal h1")).to_have_text("Недостаточно прав")
    expect(page.locator("#way-back")).to_have_text("Вернуться к работе")


def test_a_deal_the_qualifier_may_not_see_is_our_404_page_even_under_debug(
    page: Page, live_server, world, settings
):
    deal = make_deal(world, phone="+79160000444")
    settings.DEBUG = True
    login(page, live_server, "qualifier")
    response = page.goto(f"{live_server.url}/deals/{deal.pk}/")
    assert response.status == 404
    expect(page.locator("#refusal h1")).to_have_text("Not found")
    page.locator("header form.lang button[value=ru]").click()
    expect(page.locator("#refusal h1")).to_have_text("Не найдено")
    expect(page.locator("#way-back")).to_be_visible()
