"""A closer's day on a phone (issue 15.1): at 390×844 every page a closer uses fits the screen
(no sideways scrolling), reached through the header's Menu button as a person would, in English
and Russian; the board leads with the closer's own visits; phone and address are tap links.
The head's menu pages fit too (wide tables scroll inside their own box)."""

import re
from datetime import timedelta
from urllib.parse import quote

from django.utils import timezone
from playwright.sync_api import Page, expect

from deals.models import Deal
from deals.services import deal_accept, deal_set_meeting
from tests.factories import make_deal

MAPS = "https://www.google.com/maps/search/?api=1&query="
PHONE = {"width": 390, "height": 844}
LONG_NAME = "Константинопольский" * 10 + "Ж" * 10  # 200 letters, no break


def fits(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    sizes = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth, location.pathname]"
    )
    assert sizes[0] <= sizes[1], f"{sizes[2]} scrolls sideways: {sizes[0]} px > {sizes[1]} px"


def phone_login(page: Page, live_server, username: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    fits(page)
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill("pw")
    form.locator("button[type=submit]").click()
    expect(page.locator("#menu-toggle")).to_be_visible()
    # Folded: the links are behind the Menu button.
    expect(page.locator("header nav")).to_be_hidden()


def open_menu(page: Page) -> None:
    page.wait_for_load_state()  # the button works once static/js/menu.js has run
    if not page.locator("header nav").is_visible():
        page.locator("#menu-toggle").click()
    expect(page.locator("header nav")).to_be_visible()


def walk_the_menu(page: Page) -> list[str]:
    """Open the menu, follow each of its links (and the profile), checking every page fits."""
    open_menu(page)
    names = [text.strip() for text in page.locator("header nav a").all_inner_texts()]
    for name in names:
        open_menu(page)
        page.locator("header nav").get_by_role("link", name=name, exact=True).click()
        fits(page)
    open_menu(page)
    page.locator("#profile-link").click()
    expect(page).to_have_url(f"{page.url.split('/accounts')[0]}/accounts/profile/")
    fits(page)
    page.locator("#bell").click()
    expect(page).to_have_url(f"{page.url.split('/notifications')[0]}/notifications/")
    fits(page)
    return names


def closer_pages(page: Page, live_server, deal: Deal) -> None:
    assert walk_the_menu(page)[0] in ("Deals", "Сделки")
    open_menu(page)
    page.locator("header nav a[href='/deals/']").click()
    fits(page)
    # The closer's own visit (tomorrow) comes first, above the stage columns.
    visits = page.locator("#my-visits")
    expect(visits).to_contain_text("Тверская, 1")
    assert visits.bounding_box()["y"] < page.locator(".board").bounding_box()["y"]
    expect(page.locator(".stage-tabs")).to_be_visible()

    page.locator("a[href='/deals/slots/']").click()
    fits(page)
    page.go_back()
    visits.get_by_role("link", name="Иван Петров").click()
    expect(page).to_have_url(f"{live_server.url}/deals/{deal.pk}/")
    fits(page)
    expect(page.locator("a.call")).to_have_attribute("href", re.compile(r"^tel:\+7"))
    expect(page.locator("#visit-map")).to_have_attribute("href", MAPS + quote("Тверская, 1"))
    # Thumb-sized: the actions are at least 44 px tall.
    assert page.locator("#propose").bounding_box()["height"] >= 44

    page.locator("main h1 a").click()  # the contact page
    expect(page).to_have_url(f"{live_server.url}/deals/contacts/{deal.contact_id}/")
    fits(page)
    expect(page.locator("a.call")).to_have_attribute("href", re.compile(r"^tel:\+7"))


def test_a_closer_works_the_day_on_a_phone_in_english_and_russian(page: Page, live_server, world):
    deal = make_deal(world, name="Иван Петров")
    deal_accept(deal=deal, by=world.closer)
    tomorrow = timezone.localtime() + timedelta(days=1)
    deal_set_meeting(
        deal=Deal.objects.get(pk=deal.pk),
        by=world.closer,
        at=tomorrow.replace(hour=10, minute=0),
        address="Тверская, 1",
    )
    for n in range(6):  # a long pool above, and a name with no place to break
        make_deal(world, name=f"Клиент {n}", phone=f"+7916000100{n}")
    make_deal(world, name=LONG_NAME, phone="+79160001099")

    phone_login(page, live_server, "closer")
    fits(page)
    closer_pages(page, live_server, deal)

    open_menu(page)
    page.locator("header form.lang button[value=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("#menu-toggle")).to_contain_text("Меню")
    fits(page)
    closer_pages(page, live_server, deal)


def test_the_heads_menu_pages_fit_a_phone(page: Page, live_server, world):
    for n in range(3):
        make_deal(world, name=LONG_NAME if n == 0 else f"Клиент {n}", phone=f"+7916000200{n}")
    phone_login(page, live_server, "head")
    walk_the_menu(page)
    open_menu(page)
    page.locator("header form.lang button[value=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    walk_the_menu(page)
