"""A sales head imports a Bitrix24 export in a real browser: upload, the mapping proposed for
that CRM, a dry run with its per-column and per-row report, then the import itself — its user
field named like a criterion pre-filling the script."""

from playwright.sync_api import Page, expect

from leads.models import Answer, Lead
from tests.e2e.conftest import login
from tests.factories import make_criterion
from tests.leads.exports import (
    BITRIX24_HEADER,
    Bitrix24Lead,
    bitrix24_csv,
    bitrix24_user_answers,
)


def test_upload_dry_run_then_import_a_bitrix24_export(page: Page, live_server, world):
    kitchen = make_criterion(question="Kitchen type", form_names="Тип кухни")
    kitchen.options.filter(value="custom").update(label="Под заказ")
    converted = Bitrix24Lead(41).row("") + bitrix24_user_answers(41)
    converted[BITRIX24_HEADER.index("Стадия")] = "Качественный лид"
    raw = bitrix24_csv(40, encoding="cp1251", user_fields=True)
    raw += ";".join(converted).encode("cp1251")
    login(page, live_server, "head")
    page.goto(f"{live_server.url}/leads/import/")
    page.locator("input[name=file]").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": raw}]
    )
    page.locator("select[name=team]").select_option(label=world.team.name)
    page.locator("select[name=source]").select_option(index=1)
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.locator("#preset")).to_contain_text("Bitrix24")
    expect(page.locator("select[name=map_last_name]")).to_have_value("Фамилия")
    page.locator("input[name=dry_run]").check()
    page.locator("#start-import").click()

    report = page.locator("#dry-run-columns")
    expect(report).to_be_visible()
    expect(report).to_contain_text("Мобильный телефон")
    expect(report).to_contain_text("Pre-fills the answer: Kitchen type")
    # Converted in Bitrix24 (row 15, Bitrix24Lead(13), and the last): imported as history.
    expect(page.locator("#history-rows")).to_be_visible()
    expect(page.locator("table.history")).to_contain_text(
        "Imported as converted history: Качественный лид in Bitrix24"
    )
    assert not Lead.objects.exists()

    page.locator("#import-now").click()
    page.locator("#start-import").click()
    expect(page.locator("#import-progress")).to_contain_text("Created: 41")
    assert Lead.objects.count() == 41
    assert Lead.objects.filter(imported_history=True).count() == 2
    lead = Lead.objects.get(external_id="100010")
    assert "+79250000010" in lead.points.values_list("value", flat=True)
    # Every fourth row's "Тип кухни" is "Под заказ", an option's label: pre-filled. The others
    # ("модульная" is no option's label or value) stay in the form answers only. "Бюджет
    # клиента" is named like no criterion here, so it was not proposed as a form answer.
    prefilled = Answer.objects.filter(origin=Answer.Origin.IMPORT, value="custom")
    assert prefilled.count() == 10 == Answer.objects.count()
    assert Lead.objects.get(external_id="100001").form_answers == {"Тип кухни": "модульная"}
