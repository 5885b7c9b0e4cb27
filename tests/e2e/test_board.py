"""The board's "Show more" and the timeline's "Earlier" in a real browser (issue 16.4), at
desktop width and on a 390 px phone, in English and Russian: a column larger than a page says
how many it holds and appends the next page in place; a lead with more events than a page
shows the latest and loads the earlier ones above them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from crm.lib.timeline import TIMELINE_PAGE
from deals.selectors import BOARD_PAGE
from leads.models import LeadEvent
from tests.factories import make_board_deal, make_lead

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TEXTS = {"en": ("Show more", "Earlier"), "ru": ("Показать ещё", "Раньше")}


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_show_more_on_a_column_and_earlier_on_a_timeline(
    browser: Browser, live_server, world, size, language
):
    extra = 3
    for _ in range(BOARD_PAGE + extra):
        make_board_deal(world.sales, world.team, "accepted", closer=world.closer)
    lead = make_lead(world.team, name="Долгая История")
    at = timezone.now() - timedelta(days=1)
    LeadEvent.objects.bulk_create(
        LeadEvent(lead=lead, kind="claimed", at=at + timedelta(minutes=n // 2))
        for n in range(TIMELINE_PAGE + 10)
    )
    events = lead.events.count()
    more_text, earlier_text = TEXTS[language]

    for username in ("closer", "qualifier"):
        context = browser.new_context(
            viewport=SIZES[size], locale="ru-RU" if language == "ru" else "en-US"
        )
        page = context.new_page()
        try:
            page.goto(f"{live_server.url}/accounts/login/")
            form = page.locator("main form")
            form.locator("input[name=username]").fill(username)
            form.locator("input[name=password]").fill("pw")
            form.locator("button[type=submit]").click()
            expect(page.locator("header .who")).to_be_attached()
            page.wait_for_load_state()
            expect(page.locator("html")).to_have_attribute("lang", language)
            if username == "closer":
                column = page.locator("#column-accepted")
                expect(column.locator("h2 .count")).to_have_text(str(BOARD_PAGE + extra))
                expect(column.locator("article.deal")).to_have_count(BOARD_PAGE)
                button = column.get_by_role("button", name=more_text)
                button.scroll_into_view_if_needed()
                button.click()
                expect(column.locator("article.deal")).to_have_count(BOARD_PAGE + extra)
                expect(column.locator(".show-more")).to_have_count(0)
                ids = column.locator("article.deal").evaluate_all(
                    "cards => cards.map(c => c.dataset.deal)"
                )
                assert len(set(ids)) == BOARD_PAGE + extra
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= SIZES[size]["width"]
            else:
                page.goto(f"{live_server.url}/leads/{lead.pk}/")
                timeline = page.locator(".timeline ol.events")
                expect(timeline.locator("li:not(.earlier)")).to_have_count(TIMELINE_PAGE)
                earlier = timeline.get_by_role("button", name=earlier_text)
                earlier.scroll_into_view_if_needed()
                earlier.click()
                expect(timeline.locator("li:not(.earlier)")).to_have_count(events)
                expect(timeline.locator(".earlier-button")).to_have_count(0)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= SIZES[size]["width"]
        finally:
            context.close()
