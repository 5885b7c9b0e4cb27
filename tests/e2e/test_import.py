"""A sales head imports a Bitrix24 export in a real browser: upload, the mapping proposed for
that CRM, a dry run with its per-column and per-row report, then the import itself."""

from playwright.sync_api import Page, expect

from leads.models import Lead
from tests.e2e.conftest import login
from tests.leads.exports import BITRIX24_HEADER, Bitrix24Lead, bitrix24_csv


def test_upload_dry_run_then_import_a_bitrix24_export(page: Page, live_server, world):
    converted = Bitrix24Lead(41).row("")
    converted[BITRIX24_HEADER.index("Статус")] = "Качественный лид"
    raw = bitrix24_csv(40, encoding="cp1251") + ";".join(converted).encode("cp1251")
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
    expect(page.locator("table.errors")).to_contain_text("Converted in the other CRM")
    assert not Lead.objects.exists()

    page.locator("#import-now").click()
    page.locator("#start-import").click()
    expect(page.locator("#import-progress")).to_contain_text("Created: 40")
    assert Lead.objects.count() == 40
    lead = Lead.objects.get(external_id="100010")
    assert "+79250000010" in lead.points.values_list("value", flat=True)
