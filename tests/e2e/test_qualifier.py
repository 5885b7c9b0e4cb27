"""The qualifier's day in a real browser: take the most urgent lead, call, answer the script,
then check and convert it, or junk it with a reason (SPEC: "Users", "Lead lifecycle",
"The queue")."""

import re

from playwright.sync_api import Page, expect

from deals.models import Deal
from handoff.models import Handoff
from leads.models import Criterion, Lead
from tests.e2e.conftest import login
from tests.factories import make_criterion, make_lead


def take_next(page: Page) -> Lead:
    page.locator("#take-next").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+/$"))
    return Lead.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))


def expect_state(page: Page, state: str) -> None:
    """The state badge in the workspace heading; its class is the state's value."""
    expect(page.locator("h1 .state")).to_have_class(re.compile(rf"\b{state}\b"))


def log_call(page: Page, outcome: str = "reached", duration_s: int = 90) -> None:
    form = page.locator("#attempt-form")
    form.locator("select[name=outcome]").select_option(outcome)
    form.locator("input[name=duration_s]").fill(str(duration_s))
    form.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Call logged.")


def test_qualifier_takes_a_lead_calls_answers_and_converts_it(page: Page, live_server, world):
    lead = make_lead(world.team)
    kitchen = make_criterion()  # choice, knock-out: "modular" would disqualify
    decides = make_criterion("decides", question="Decides alone?", kind=Criterion.Kind.YES_NO)
    budget = make_criterion(
        "budget", question="Budget, roubles", kind=Criterion.Kind.NUMBER, min_value=300_000
    )

    login(page, live_server, "qualifier")
    expect(page).to_have_url(f"{live_server.url}/leads/")
    assert take_next(page) == lead

    log_call(page, "reached")
    script = page.locator("#answers-form")
    script.locator(f"select[name=c{kitchen.pk}]").select_option("custom")
    script.locator(f"input[type=radio][name=c{decides.pk}][value=yes]").check()
    script.locator(f"input[name=c{budget.pk}]").fill("450 000")
    script.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Answers saved.")

    page.locator("#check").click()
    expect_state(page, "checked")
    page.locator("#convert").click()

    expect_state(page, "converted")
    expect(page.get_by_role("status")).to_contain_text("Converted and handed off to Showroom.")
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.state == Lead.State.CONVERTED
    assert Deal.objects.get(lead=lead).team == world.sales
    handoff = Handoff.objects.get(lead=lead)
    assert (handoff.qualifier, handoff.team) == (world.qualifier, world.sales)


def test_qualifier_junks_a_lead_with_a_reason(page: Page, live_server, world):
    lead = make_lead(world.team)
    login(page, live_server, "qualifier")
    take_next(page)

    page.locator("#junk").click()
    dialog = page.locator("#junk-dialog")
    dialog.locator("select[name=reason]").select_option(label="Spam")
    dialog.locator("textarea[name=note]").fill("A bot filled the form")
    page.locator("#junk-confirm").click()

    expect_state(page, "junk")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Spam")
    expect(timeline).to_contain_text("A bot filled the form")
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.state, lead.junk_reason.slug) == (Lead.State.JUNK, "spam")


def test_buttons_are_disabled_until_the_transition_is_allowed(page: Page, live_server, world):
    make_lead(world.team)
    login(page, live_server, "qualifier")
    take_next(page)

    check, convert = page.locator("#check"), page.locator("#convert")
    expect(check).to_be_disabled()
    expect(page.locator(".decide")).to_contain_text("Log at least one contact attempt.")
    expect(convert).to_be_disabled()

    log_call(page, "reached")
    expect(check).to_be_enabled()
    expect(convert).to_be_disabled()  # only a checked lead converts

    check.click()
    expect_state(page, "checked")
    expect(convert).to_be_enabled()


def test_new_lead_appears_on_an_open_queue_page_without_reload(page: Page, live_server, world):
    login(page, live_server, "qualifier")
    expect(page.locator("#queue-rows")).to_contain_text("No open leads.")

    lead = make_lead(world.team, name="Мария Сидорова", phone="+79031112233")

    # The list polls every 2 s through htmx: no reload, no sleep.
    row = page.locator(f"tr.lead-row[data-lead='{lead.pk}']")
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("Мария Сидорова")


def test_russian_interface(page: Page, live_server, world):
    login(page, live_server, "qualifier")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator("header form.lang button[value=ru]").click()

    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page).to_have_url(f"{live_server.url}/leads/")
