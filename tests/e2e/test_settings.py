"""An admin edits the call script and a head a team's clock in the product's Settings, in a
real browser, in English and in Russian, through the pages' own controls."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from crm.teams.models import Team
from leads.models import Criterion, LeadSource
from tests.e2e.conftest import login
from tests.factories import UserFactory, make_criterion, make_lead

LOCALES = {"en": "en-US", "ru": "ru-RU"}
SAVED = {"en": "Saved:", "ru": "Сохранено:"}


@pytest.fixture(params=["en", "ru"])
def lang(request) -> str:
    return request.param


@pytest.fixture
def page_in(browser: Browser, lang: str):
    context = browser.new_context(locale=LOCALES[lang])
    yield context.new_page()
    context.close()


def script_order(page: Page) -> list[str]:
    return page.locator("#criteria-list li[data-id] .what > a").all_inner_texts()


def preview_order(page: Page) -> list[str]:
    return page.locator("#script-preview .criterion > label").all_inner_texts()


def test_admin_adds_a_criterion_with_options_reorders_it_and_the_preview_follows(
    page_in: Page, live_server, world, lang
):
    page = page_in
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    make_criterion(slug="budget", question="Бюджет", kind="number", knock_out=False)
    login(page, live_server, "admin")
    expect(page).to_have_url(f"{live_server.url}/settings/")  # admins land on Settings
    expect(page.locator("html")).to_have_attribute("lang", lang)

    page.locator(".subnav a[href='/settings/criteria/']").click()
    page.locator("#add-criterion").click()
    page.locator("#id_question").fill("Тип кухни")
    page.locator("#id_kind").select_option("choice")
    page.locator("#id_options-0-label").fill("На заказ")
    page.locator("#id_options-0-verdict").select_option("good")
    page.locator("#id_options-1-label").fill("Модульная")
    page.locator("#id_options-1-verdict").select_option("bad")
    page.locator("#id_knock_out").check()
    # The preview shows the question being written, before it is saved.
    preview = page.locator("#script-preview")
    expect(preview).to_contain_text("Тип кухни")
    expect(preview.locator("option", has_text="Модульная")).to_have_count(1)
    page.locator("#add-option").click()
    page.locator("#id_options-3-label").fill("Лофт")
    expect(preview.locator("option", has_text="Лофт")).to_have_count(1)
    page.locator("#save-criterion").click()

    expect(page.get_by_role("status")).to_contain_text(SAVED[lang])
    criterion = Criterion.objects.get(question="Тип кухни")
    assert criterion.slug == "tip-kukhni" and criterion.knock_out
    assert list(criterion.options.values_list("value", flat=True)) == [
        "na-zakaz",
        "modulnaya",
        "loft",
    ]
    expect(page.locator("#criteria-list li[data-id]")).to_have_count(2)
    assert script_order(page) == ["Бюджет", "Тип кухни"]
    assert preview_order(page) == ["Бюджет", "Тип кухни"]

    # The keyboard's way: focus the Up button and press Enter.
    row = page.locator(f"#criteria-list li[data-id='{criterion.pk}']")
    row.locator("button[value=up]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#criteria-list li[data-id]").first).to_have_attribute(
        "data-id", str(criterion.pk)
    )
    expect(page.locator("#script-preview .criterion > label").first).to_have_text("Тип кухни")
    # Focus stays on the moved row, so it can be moved again from the keyboard.
    expect(
        page.locator(f"#criteria-list li[data-id='{criterion.pk}'] button[value=down]")
    ).to_be_focused()

    # And by drag: the budget question back on top.
    budget = page.locator("#criteria-list li[data-id]").nth(1)
    budget.locator(".handle").drag_to(page.locator("#criteria-list li[data-id]").first)
    expect(page.locator("#script-preview .criterion > label").first).to_have_text("Бюджет")
    assert list(Criterion.objects.order_by("order").values_list("question", flat=True)) == [
        "Бюджет",
        "Тип кухни",
    ]


def test_a_refused_criterion_keeps_what_was_typed(page_in: Page, live_server, world, lang):
    page = page_in
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/settings/criteria/add/")
    page.locator("#id_question").fill("Комментарий")
    page.locator("#id_kind").select_option("text")
    page.locator("#id_knock_out").check()
    page.locator("#save-criterion").click()
    expect(page.locator("#id_knock_out_error, .errorlist").first).to_be_visible()
    expect(page.locator("#id_question")).to_have_value("Комментарий")
    expect(page.locator("#id_kind")).to_have_value("text")
    assert not Criterion.objects.exists()


def test_head_sets_the_teams_sla_and_the_queue_due_time_follows(
    page_in: Page, live_server, world, lang
):
    page = page_in
    login(page, live_server, "head")
    page.locator("header nav a[href='/settings/']").click()
    page.locator(".subnav a[href='/settings/teams/']").click()
    page.locator(f"a[href='/settings/teams/{world.team.pk}/']").click()

    page.locator("#id_sla_warn_minutes").fill("60")
    page.locator("#id_sla_breach_minutes").fill("55")
    page.locator("#save-team").click()
    expect(page.locator("#id_sla_warn_minutes")).to_have_value("60")  # refused, kept
    expect(page.locator("ul.errorlist").first).to_be_visible()
    assert Team.objects.get(pk=world.team.pk).sla_breach_minutes == 20

    page.locator("#id_sla_warn_minutes").fill("50")
    page.locator("#save-team").click()
    expect(page.get_by_role("status")).to_contain_text(SAVED[lang])
    assert Team.objects.get(pk=world.team.pk).sla_breach_minutes == 55

    lead = make_lead(Team.objects.get(pk=world.team.pk), now=timezone.now())
    assert lead.breach_at - lead.created_at == timedelta(minutes=55)
    page.goto(f"{live_server.url}/leads/")
    due = page.locator(f"tr:has(a[href='/leads/{lead.pk}/']) td.due time")
    expect(due).to_have_text(re.compile(r"5[45]:\d\d"))


def test_admin_copies_the_intake_url_and_rotates_the_key(page_in: Page, live_server, world, lang):
    page = page_in
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    source = LeadSource.objects.get(slug="website")
    old = source.intake_key
    login(page, live_server, "admin")
    page.locator(".subnav a[href='/settings/sources/']").click()
    page.locator(f"a[href='/settings/sources/{source.pk}/']").click()
    expect(page.locator("#intake-url")).to_have_value(re.compile(f"/api/v1/intake/\\?key={old}$"))
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#rotate-key").click()
    expect(page.locator("#intake-key")).not_to_have_value(old)
    source.refresh_from_db()
    assert source.intake_key != old
    expect(page.locator("#intake-key")).to_have_value(source.intake_key)
