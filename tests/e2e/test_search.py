"""Search from the header (issue 16.1) in a real browser: a qualifier on the queue types a phone
or a name into the header's box and lands on the lead — on a desktop in English and on a
phone (390 px) in Russian, the results page fitting the screen."""

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import login
from tests.factories import make_lead

PHONE = {"width": 390, "height": 844}


def test_from_the_queue_to_the_lead_by_phone_on_a_desktop(page: Page, live_server, world):
    lead = make_lead(world.team, name="Иван Семёнов", phone="+79123456789")
    make_lead(world.other_team, name="Иван Семёнов", phone="+79123456789")  # never shown
    login(page, live_server, "qualifier")
    expect(page).to_have_url(f"{live_server.url}/leads/")
    box = page.locator("header #search-q")
    expect(box).to_be_visible()
    box.fill("+7 (912) 345-67-89")
    box.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/search/?q=%2B7+%28912%29+345-67-89")
    rows = page.locator("#found-leads .search-results li")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("mark")).to_have_text("7 912 345-67-89")
    expect(rows.first.locator(".state")).to_have_text("new")
    rows.first.locator("a.found").click()
    expect(page).to_have_url(f"{live_server.url}/leads/{lead.pk}/")

    # the last digits, and a too short query answered with what to type
    box = page.locator("header #search-q")
    box.fill("6789")
    box.press("Enter")
    expect(page.locator("#found-leads .search-results li")).to_have_count(1)
    page.locator("header #search-q").fill("12")
    page.locator("header #search-q").press("Enter")
    expect(page.locator(".search-problem")).to_contain_text("at least 4 digits")


def test_a_russian_name_on_a_phone_in_russian(browser: Browser, live_server, world):
    lead = make_lead(world.team, name="Пётр Семёнов", phone="+79161112233")
    context = browser.new_context(locale="ru-RU", viewport=PHONE)
    page = context.new_page()
    try:
        login(page, live_server, "qualifier")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        box = page.locator("header #search-q")
        expect(box).to_be_visible()  # not folded behind the Menu button
        expect(page.locator("header nav")).to_be_hidden()
        box.fill("семенов")
        box.press("Enter")
        expect(page.locator("main h1")).to_have_text("Поиск")
        row = page.locator("#found-leads .search-results li")
        expect(row).to_have_count(1)
        expect(row.locator("a.found mark")).to_have_text("Семёнов")
        expect(row.locator(".state")).to_have_text("новый")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the results scroll sideways: {width}"
        row.locator("a.found").click()
        expect(page).to_have_url(f"{live_server.url}/leads/{lead.pk}/")
        # nothing found, said in Russian
        page.locator("header #search-q").fill("Несуществующий")
        page.locator("header #search-q").press("Enter")
        expect(page.locator(".search-none")).to_contain_text("Ничего не найдено")
    finally:
        context.close()
