"""The closers' side in a real browser: a closer picks up a deal, books the site visit and
wins it; a sales head rules on a dispute (SPEC: "Handoff and disputes")."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from deals.models import Deal
from deals.services import deal_accept
from handoff.disputes import dispute_raise
from tests.e2e.conftest import login
from tests.factories import make_criterion, make_deal


def test_closer_picks_up_a_deal_books_the_meeting_and_wins_it(page: Page, live_server, world):
    deal = make_deal(world, name="Иван Петров")
    login(page, live_server, "closer")
    expect(page).to_have_url(f"{live_server.url}/deals/")

    card = page.locator(f"article.deal[data-deal='{deal.pk}']")
    expect(card).to_contain_text("Иван Петров")
    card.locator("button.pick-up").click()
    expect(page.get_by_role("status")).to_contain_text("The deal is yours.")

    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    visit = timezone.localtime() + timedelta(days=3)
    meeting = page.locator("#meeting-form")
    meeting.locator("input[name=at]").fill(visit.strftime("%Y-%m-%dT10:00"))
    meeting.locator("input[name=address]").fill("Тверская, 1, кв. 5")
    meeting.locator("button[type=submit]").click()
    expect(page.locator("#deal-stage")).to_have_class(re.compile(r"\bmeeting\b"))

    page.locator("#propose").click()
    expect(page.locator("#deal-stage")).to_have_class(re.compile(r"\bproposal\b"))
    page.locator("#win-form input[name=amount]").fill("450000")
    page.locator("#win").click()
    expect(page.locator("#deal-stage")).to_have_class(re.compile(r"\bwon\b"))

    deal.refresh_from_db()
    assert (deal.stage, deal.closer, str(deal.amount)) == ("won", world.closer, "450000.00")
    assert deal.meeting_address == "Тверская, 1, кв. 5"


def test_head_resolves_a_dispute(page: Page, live_server, world):
    criterion = make_criterion(required=False)
    deal = make_deal(world, name="Анна Смирнова", answers={criterion: "custom"})
    deal_accept(deal=deal, by=world.closer)
    dispute = dispute_raise(
        deal=Deal.objects.get(pk=deal.pk),
        by=world.closer,
        criterion=criterion,
        claim="She wants a modular kitchen",
    )

    login(page, live_server, "head")
    page.goto(f"{live_server.url}/disputes/")
    page.get_by_role("link", name="Анна Смирнова").click()
    expect(page.locator("main")).to_contain_text("She wants a modular kitchen")
    form = page.locator("#ruling-form")
    form.locator("input[value=upheld]").check()
    form.locator("textarea[name=note]").fill("The call log shows no question about the type")
    page.locator("#resolve").click()

    expect(page.locator("#dispute-outcome")).to_have_text("upheld")
    dispute.refresh_from_db()
    assert (dispute.outcome, dispute.resolved_by) == ("upheld", world.head)
    assert Deal.objects.get(pk=deal.pk).stage == "returned"
