"""A head connects their team's PBX and sales mailbox in Settings, on a phone (390 px), in
English and in Russian, through the pages' own controls."""

import pytest
from playwright.sync_api import Browser, Page, expect

from leads.models import LeadSource, Mailbox
from telephony.models import PbxConnection
from tests.e2e.test_mobile import PHONE, fits

LOCALES = {"en": "en-US", "ru": "ru-RU"}
TEXT = {
    "en": {"saved": "Saved:", "copied": "Copied", "refused": "Please correct the errors below"},
    "ru": {"saved": "Сохранено:", "copied": "Скопировано", "refused": "Исправьте ошибки ниже"},
}


@pytest.fixture(params=["en", "ru"])
def lang(request) -> str:
    return request.param


@pytest.fixture
def phone(browser: Browser, lang: str):
    context = browser.new_context(locale=LOCALES[lang], viewport=PHONE)
    yield context.new_page()
    context.close()


def _login(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill("head")
    form.locator("input[name=password]").fill("pw")
    form.locator("button[type=submit]").click()
    expect(page.locator("header .who")).to_be_attached()


def test_a_head_connects_the_teams_pbx_on_a_phone(phone: Page, live_server, world, lang):
    text = TEXT[lang]
    _login(phone, live_server)
    phone.goto(f"{live_server.url}/settings/")
    phone.locator(".subnav a[href='/settings/telephony/']").click()
    fits(phone)
    phone.locator("a[href='/settings/telephony/add/']").click()
    fits(phone)

    phone.locator("#id_team").select_option(str(world.team.pk))
    phone.locator("#id_provider").select_option("zadarma")
    phone.locator("#id_api_secret").fill("zd-secret-1")
    phone.locator("#id_numbers").fill("+74951112233")
    phone.locator("#id_ext-0-user").select_option(str(world.qualifier.pk))
    phone.locator("#id_ext-0-extension").fill("101")
    phone.locator("#add-extension").click()
    phone.locator("#id_ext-1-user").select_option(str(world.teammate.pk))
    phone.locator("#id_ext-1-extension").fill("102")
    phone.locator("#save-pbx").click()

    # No API key for Zadarma: said next to the field, the rest kept as typed (not the secret).
    expect(phone.get_by_role("alert").first).to_contain_text(text["refused"])
    expect(phone.locator("#id_ext-1-extension")).to_have_value("102")
    expect(phone.locator("#id_api_secret")).to_have_value("")
    fits(phone)
    phone.locator("#id_api_key").fill("zd-key")
    phone.locator("#id_api_secret").fill("zd-secret-1")
    phone.locator("#save-pbx").click()

    expect(phone.locator(".messages, [role=status]").first).to_contain_text(text["saved"])
    connection = PbxConnection.objects.get()
    assert connection.extensions.count() == 2
    address = phone.locator("#pbx-address")
    assert address.input_value().endswith(f"/api/v1/telephony/zadarma/{connection.url_key}/")
    phone.locator("button[data-copy=pbx-address]").click()
    expect(phone.locator("button[data-copy=pbx-address]")).to_have_text(text["copied"])
    fits(phone)


def test_a_head_adds_the_sales_mailbox_on_a_phone(phone: Page, live_server, world, lang):
    source = LeadSource.objects.create(
        name="E-mail", slug="mail-a", channel=LeadSource.Channel.EMAIL, team=world.team
    )
    text = TEXT[lang]
    _login(phone, live_server)
    phone.goto(f"{live_server.url}/settings/mailboxes/add/")
    fits(phone)

    phone.locator("#id_team").select_option(str(world.team.pk))
    phone.locator("#id_source").select_option(str(source.pk))
    phone.locator("#id_host").fill("imap.example.ru")
    phone.locator("#id_port").fill("99999")
    phone.locator("#id_username").fill("sales@example.ru")
    phone.locator("#id_password").fill("imap-pass-1")
    phone.locator("#save-mailbox").click()

    expect(phone.locator("#id_port ~ .errorlist, .errorlist").last).to_contain_text("65535")
    expect(phone.locator("#id_host")).to_have_value("imap.example.ru")
    fits(phone)
    phone.locator("#id_port").fill("993")
    phone.locator("#id_password").fill("imap-pass-1")
    phone.locator("#save-mailbox").click()

    expect(phone.locator(".messages, [role=status]").first).to_contain_text(text["saved"])
    assert Mailbox.objects.get().password == "imap-pass-1"
    assert "imap-pass-1" not in phone.content()
    fits(phone)
