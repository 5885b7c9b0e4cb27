"""The qualifier's workspace in a real browser (issue 12): nothing picked in the script is
lost, contact details are corrected in place, the due time ticks, the buttons say what they
need, converting says what was booked, and the common paths take few clicks — at a desk, on a
phone and in Russian."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from deals.models import Deal, VisitSlot
from leads.models import Criterion, Lead, LeadEvent
from tests.e2e.conftest import login
from tests.factories import make_criterion, make_lead


class Clicks:
    """Counts the clicks a path takes: every click of the test goes through here."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, locator) -> None:
        self.count += 1
        locator.click()

    def choose(self, select, value, **option) -> None:
        """A choice in a dropdown: a click to open it, one to choose — counted as one, as a
        phone's picker or a keyboard does it."""
        self.count += 1
        select.select_option(value, **option)


def script(world):
    """The demo's call script: kitchen type (knock-out), decides alone, budget."""
    kitchen = make_criterion(question="Kitchen type", order=1)
    decides = make_criterion(
        "decides", question="Decides alone?", kind=Criterion.Kind.YES_NO, order=2
    )
    budget = make_criterion(
        "budget", question="Budget", kind=Criterion.Kind.NUMBER, min_value=300_000, order=3
    )
    return kitchen, decides, budget


def open_lead(page: Page, live_server, lead: Lead, user: str = "qualifier") -> None:
    login(page, live_server, user)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")


def answer(page: Page, kitchen, decides, budget, click=None) -> None:
    form = page.locator("#answers-form")
    form.locator(f"select[name=c{kitchen.pk}]").select_option("custom")
    (click or (lambda loc: loc.click()))(form.locator(f"input[name=c{decides.pk}][value=yes]"))
    form.locator(f"input[name=c{budget.pk}]").fill("450 000")
    form.locator(f"input[name=c{budget.pk}]").blur()


def test_answers_picked_then_log_call_are_still_there_after_a_reload(
    page: Page, live_server, world
):
    kitchen, decides, budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)

    answer(page, kitchen, decides, budget)
    page.locator("#attempt-form select[name=outcome]").select_option("reached")
    page.locator("#log-call").click()  # straight after typing: no "Save answers"
    expect(page.get_by_role("status")).to_contain_text("Call logged.")

    page.reload()
    form = page.locator("#answers-form")
    expect(form.locator(f"select[name=c{kitchen.pk}]")).to_have_value("custom")
    expect(form.locator(f"input[name=c{decides.pk}][value=yes]")).to_be_checked()
    expect(form.locator(f"input[name=c{budget.pk}]")).to_have_value("450000")
    assert Lead.objects.get(pk=lead.pk).answers.count() == 3


def test_an_answer_picked_before_the_page_script_ran_is_saved(page: Page, live_server, world):
    """On a slow line the page shows before its deferred script runs; a pick made then counts."""
    kitchen, _decides, _budget = script(world)
    lead = make_lead(world.team)
    login(page, live_server, "qualifier")
    held = []
    page.route("**/js/workspace*.js", lambda route: held.append(route))
    page.goto(f"{live_server.url}/leads/{lead.pk}/", wait_until="commit")
    page.locator(f"select[name=c{kitchen.pk}]").select_option("custom")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    box = page.locator(f'.criterion[data-field="c{kitchen.pk}"]')
    expect(box).to_have_class(re.compile(r"\bsaved\b"))
    assert lead.answers.get().value == "custom"


def test_an_answer_picked_offline_is_kept_and_saved_when_the_connection_returns(
    page: Page, live_server, world
):
    kitchen, _decides, _budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)

    page.context.set_offline(True)
    page.locator(f"select[name=c{kitchen.pk}]").select_option("custom")
    box = page.locator(f'.criterion[data-field="c{kitchen.pk}"]')
    expect(box).to_have_class(re.compile(r"\bunsaved\b"))
    expect(box).to_contain_text("not saved yet")
    assert not lead.answers.exists()

    page.context.set_offline(False)
    expect(box).to_have_class(re.compile(r"\bsaved\b"), timeout=10_000)
    assert lead.answers.get().value == "custom"


def test_an_unsaved_answer_survives_a_reload_and_is_sent_then(page: Page, live_server, world):
    kitchen, _decides, _budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    page.route("**/answer/", lambda route: route.abort())  # the save never arrives
    page.locator(f"select[name=c{kitchen.pk}]").select_option("custom")
    expect(page.locator(f'.criterion[data-field="c{kitchen.pk}"]')).to_contain_text("not saved yet")
    page.unroute("**/answer/")

    page.reload()
    expect(page.locator(f"select[name=c{kitchen.pk}]")).to_have_value("custom")
    expect(page.locator(f'.criterion[data-field="c{kitchen.pk}"]')).to_have_class(
        re.compile(r"\bsaved\b")
    )
    assert lead.answers.get().value == "custom"


def test_a_typed_answer_survives_a_reload_before_the_field_is_left(page: Page, live_server, world):
    """Typed text is kept at each keystroke: reloading (or losing the tab) while the cursor is
    still in the field loses nothing, and it is saved once the page is back."""
    _kitchen, _decides, budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    page.route("**/answer/", lambda route: route.abort())  # nothing reaches the server
    field = page.locator(f"input[name=c{budget.pk}]")
    field.click()
    page.keyboard.type("450000")  # no blur, no change event
    page.unroute("**/answer/")

    page.reload()
    expect(page.locator(f"input[name=c{budget.pk}]")).to_have_value("450000")
    expect(page.locator(f'.criterion[data-field="c{budget.pk}"]')).to_have_class(
        re.compile(r"\bsaved\b")
    )
    assert lead.answers.get().value == "450000"


def test_a_one_word_name_and_a_phone_are_corrected_then_checked_and_converted(
    page: Page, live_server, world
):
    world.team.surname_required = True
    world.team.save()
    lead = make_lead(world.team, name="Анна", phone="", email="anna@example.com")
    open_lead(page, live_server, lead)
    page.locator("#attempt-form select[name=outcome]").select_option("reached")
    page.locator("#log-call").click()
    expect(page.locator(".decide")).to_contain_text("Enter the surname too")
    expect(page.locator(".decide")).to_contain_text("Enter a valid phone number.")

    page.locator("#edit-contact").click()
    contact = page.locator("#contact-form")
    contact.locator("input[name=name]").fill("Анна Смирнова")
    contact.locator("input[name=phone_0]").fill("8 (916) 123-45-67")
    contact.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Contact details saved.")
    expect(page.locator("h1")).to_contain_text("Анна Смирнова")
    expect(page.locator(".timeline")).to_contain_text("contact details changed")
    expect(page.locator(".timeline")).not_to_contain_text("916")

    page.locator("#check").click()
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bchecked\b"))
    page.locator("#convert").click()
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bconverted\b"))
    assert Deal.objects.get(lead=lead).contact.phone == "+79161234567"


def test_the_workspace_shows_and_edits_two_phones_with_their_kinds(page: Page, live_server, world):
    lead = make_lead(world.team, name="Анна Ли", phone="+79161234567")
    open_lead(page, live_server, lead)
    page.locator("#edit-contact").click()
    contact = page.locator("#contact-form")
    expect(contact.locator("input[name=phone_0]")).to_have_value("+7 916 123-45-67")
    contact.locator("select[name=phone_0_kind]").select_option("mobile")
    contact.locator("input[name=phone_1]").fill("8 (495) 123-45-67")
    contact.locator("select[name=phone_1_kind]").select_option("work")
    contact.locator("input[name=phone_1_ext]").fill("12")
    contact.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Contact details saved.")

    card = page.locator("section.contact")
    expect(card.locator("a.call")).to_have_text("+7 916 123-45-67")
    expect(card.locator("dt", has_text="Phone").first).to_contain_text("mobile")
    expect(card.locator("dd.more-phone")).to_contain_text("+7 495 123-45-67")
    expect(card.locator("dd.more-phone")).to_contain_text("ext. 12")
    expect(card.locator("dd.more-phone a")).to_have_attribute("href", "tel:+7-495-123-45-67")
    expect(card).to_contain_text("work")
    stored = [(p.value, p.label, p.ext) for p in lead.points.order_by("position")]
    assert stored == [("+79161234567", "mobile", ""), ("+74951234567", "work", "12")]

    # Edited again: the second phone is emptied, so it goes; the first stays the primary.
    page.locator("#edit-contact").click()
    expect(contact.locator("input[name=phone_1]")).to_have_value("+7 495 123-45-67")
    contact.locator("input[name=phone_1]").fill("")
    contact.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Contact details saved.")
    expect(card.locator("dd.more-phone")).to_have_count(0)
    assert list(lead.points.values_list("value", flat=True)) == ["+79161234567"]


def test_the_due_countdown_ticks(page: Page, live_server, world):
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    countdown = page.locator("#due-countdown")
    expect(countdown).to_have_text(re.compile(r"^in \d+:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=2_500)


def test_a_knock_out_answer_shows_the_badge_at_once(page: Page, live_server, world):
    kitchen, decides, _budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    page.locator(f"input[name=c{decides.pk}][value=yes]").check()
    expect(page.locator("#lead-badges")).to_contain_text("· ")

    page.locator(f"select[name=c{kitchen.pk}]").select_option("modular")
    expect(page.locator("#lead-badges")).to_have_text("knocked out")
    page.reload()
    expect(page.locator("#lead-badges")).to_have_text("knocked out")


def test_a_blocked_convert_names_the_missing_criteria(page: Page, live_server, world):
    _kitchen, decides, _budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    blockers = page.locator("#convert-blockers")
    expect(blockers).to_contain_text("Answer: Kitchen type, Decides alone?, Budget")

    page.locator(f"input[name=c{decides.pk}][value=yes]").check()
    expect(blockers).to_contain_text("Answer: Kitchen type, Budget")  # refreshed, no reload
    expect(page.locator("#convert")).to_be_disabled()


def test_after_converting_the_deal_link_and_the_booked_visit_are_shown(
    page: Page, live_server, world
):
    lead = make_lead(world.team)
    starts = (timezone.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0)
    VisitSlot.objects.create(
        closer=world.closer, starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    open_lead(page, live_server, lead, user="head")  # the head may open the deal
    page.locator("#attempt-form select[name=outcome]").select_option("reached")
    page.locator("#attempt-form input[name=check]").check()
    page.locator("#log-call").click()
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bchecked\b"))

    page.locator("#convert-form summary").click()
    page.locator("#convert-form select[name=slot]").select_option(index=1)
    page.locator("#convert-form input[name=address]").fill("ул. Ленина, 1")
    page.locator("#convert").click()

    status = page.get_by_role("status")
    expect(status).to_contain_text("Converted and handed off to Showroom.")
    expect(status).to_contain_text(f"closer: {world.closer.get_full_name()}")
    expect(status).to_contain_text("Site visit booked:")
    expect(status).to_contain_text("ул. Ленина, 1")
    expect(page.locator(".timeline")).to_contain_text("site visit booked")
    deal = Deal.objects.get(lead=lead)
    page.locator("#deal-link").click()
    expect(page).to_have_url(f"{live_server.url}/deals/{deal.pk}/")


def test_from_the_workspace_to_converted_in_four_clicks(page: Page, live_server, world):
    kitchen, decides, budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    click = Clicks()

    answer(page, kitchen, decides, budget, click=click)
    page.locator("#attempt-form select[name=outcome]").select_option("reached")
    click(page.locator("#attempt-form input[name=check]"))
    click(page.locator("#log-call"))
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bchecked\b"))
    click(page.locator("#convert"))

    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bconverted\b"))
    assert click.count <= 4
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.CONVERTED


def test_the_check_too_choice_is_remembered_so_the_next_lead_needs_a_click_less(
    page: Page, live_server, world
):
    first, second = make_lead(world.team), make_lead(world.team, phone="+79031112233")
    open_lead(page, live_server, first)
    page.locator("#attempt-form input[name=check]").check()
    page.goto(f"{live_server.url}/leads/{second.pk}/")
    expect(page.locator("#attempt-form input[name=check]")).to_be_checked()


def test_from_the_workspace_to_junk_in_one_click(page: Page, live_server, world):
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    click = Clicks()

    page.locator("#junk-form select[name=reason]").select_option(label="Spam")
    click(page.locator("#junk-confirm"))

    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bjunk\b"))
    assert click.count <= 2
    assert Lead.objects.get(pk=lead.pk).junk_reason.slug == "spam"


def test_keyboard_shortcuts_and_their_help(page: Page, live_server, world):
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)

    page.keyboard.press("?")
    help_dialog = page.locator("#shortcuts-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Take next")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # Typing in a field never fires a shortcut.
    page.locator("#attempt-form textarea[name=note]").fill("c v j 4 l")
    expect(page.locator("#attempt-form select[name=outcome]")).to_have_value("reached")
    page.locator("h1").click()  # leave the field

    page.keyboard.press("4")  # wrong number
    expect(page.locator("#attempt-form select[name=outcome]")).to_have_value("wrong_number")
    page.keyboard.press("1")
    page.keyboard.press("l")
    expect(page.get_by_role("status")).to_contain_text("Call logged.")
    page.keyboard.press("c")
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bchecked\b"))
    page.keyboard.press("j")
    expect(page.locator("#junk-form select[name=reason]")).to_be_focused()
    assert lead.attempts.get().note == "c v j 4 l"


def test_at_phone_width_the_workspace_fits_and_converts(browser: Browser, live_server, world):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    kitchen, decides, budget = script(world)
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
    answer(page, kitchen, decides, budget)
    page.locator("#attempt-form select[name=outcome]").select_option("reached")
    page.locator("#attempt-form input[name=check]").check()
    page.locator("#log-call").click()
    page.locator("#convert").click()
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bconverted\b"))
    context.close()


def test_in_russian(browser: Browser, live_server, world):
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    kitchen, _decides, _budget = script(world)
    lead = make_lead(world.team, name="Анна")
    open_lead(page, live_server, lead)

    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("#due-countdown")).to_have_text(re.compile(r"^через \d+:\d\d$"))
    page.locator(f"select[name=c{kitchen.pk}]").select_option("modular")
    expect(page.locator(f'.criterion[data-field="c{kitchen.pk}"]')).to_contain_text("сохранено")
    expect(page.locator("#lead-badges")).to_have_text("сработал стоп-критерий")
    expect(page.locator("#convert-blockers")).to_contain_text("Сначала проверьте лид.")

    page.locator("#attempt-form select[name=outcome]").select_option("reached")
    page.locator("#attempt-form input[name=check]").check()
    page.locator("#log-call").click()
    expect(page.get_by_role("status")).to_contain_text("Звонок записан.")
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bchecked\b"))  # one word
    expect(page.locator("#convert-blockers")).to_contain_text("стоп-критерий")
    assert lead.events.filter(kind=LeadEvent.Kind.TRANSITION).exists()
    context.close()


def test_in_russian_at_phone_width_the_junk_reason_is_a_usable_dropdown(
    browser: Browser, live_server, world
):
    """The long Russian button once squeezed the reason's dropdown to its arrow."""
    context = browser.new_context(locale="ru-RU", viewport={"width": 390, "height": 800})
    page = context.new_page()
    lead = make_lead(world.team)
    open_lead(page, live_server, lead)
    reason = page.locator("#junk-form select[name=reason]").bounding_box()
    button = page.locator("#junk-confirm").bounding_box()
    assert reason and button
    assert reason["width"] >= 150, reason
    assert button["x"] + button["width"] <= 390, button
    context.close()
