"""A sales head reads the call metrics in a real browser: reached calls per day against the
team's norm, drawn as bars under the norm line, and a qualifier's days as a table fetched when
"By day" is opened (by keyboard too) — on a desktop in English, and at 390 px in Russian
without sideways scrolling."""

from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect

from telephony.models import Call, PbxConnection
from tests.e2e.conftest import login
from tests.e2e.test_mobile import PHONE, fits

MSK = ZoneInfo("Europe/Moscow")
WEEK = "from=2026-11-02&to=2026-11-08"


def _calls(world) -> None:
    """Norm 2 a day of 30 s+: the qualifier meets it on Monday only; no hours set, so every
    day of the week is a working day."""
    world.team.call_norm_per_day, world.team.call_norm_seconds = 2, 30
    world.team.save()
    connection = PbxConnection.objects.create(team=world.team, provider="generic", api_secret="s")
    for i, (day, talk) in enumerate([(2, 30), (2, 95), (3, 29), (4, 40)]):
        Call.objects.create(
            connection=connection,
            pbx_call_id=f"e2e-{i}",
            direction="out",
            state="ended",
            started_at=datetime(2026, 11, day, 11, i, tzinfo=MSK),
            talk_s=talk,
            outcome="reached",
            user=world.qualifier,
        )


def _chart(page: Page, world):
    return page.locator(
        f"section.calls[data-team='{world.team.pk}'] figure[data-qualifier='{world.qualifier.pk}']"
    )


def test_head_sees_reached_calls_per_day_against_the_norm(page: Page, live_server, world):
    _calls(world)
    login(page, live_server, "head")
    page.goto(f"{live_server.url}/reports/?{WEEK}")
    page.locator("#call-metrics").click()
    expect(page.locator("h1")).to_have_text("Call metrics")
    section = page.locator(f"section.calls[data-team='{world.team.pk}']")
    expect(section.locator(".call-source")).to_have_text(
        "From the PBX: real call starts and talk time."
    )
    expect(section.locator(".call-norm")).to_have_text(
        "Norm: 2 reached calls a working day, each of 30 s of talk or more."
    )
    expect(section.locator("tr[data-metric=reached_long] td").nth(0)).to_have_text("3")
    chart = _chart(page, world)
    expect(chart.locator("figcaption")).to_contain_text("norm met on 1 of 7 working days")
    expect(chart.locator("rect.norm-line")).to_be_visible()
    expect(chart.locator("rect.met")).to_have_count(1)
    expect(chart.locator("rect.short")).to_have_count(6)
    expect(chart.locator("table.norm-days")).to_have_count(0)  # fetched when opened
    chart.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(chart.locator("table.norm-days tr.met td").first).to_contain_text("02.11")
    expect(chart.locator("table.norm-days tr.short")).to_have_count(6)


def test_the_norm_line_on_a_phone_in_russian(browser: Browser, live_server, world):
    _calls(world)
    context = browser.new_context(locale="ru-RU", viewport=PHONE)
    page = context.new_page()
    login(page, live_server, "head")
    page.goto(f"{live_server.url}/reports/calls/?{WEEK}")
    expect(page.locator("h1")).to_have_text("Звонки")
    section = page.locator(f"section.calls[data-team='{world.team.pk}']")
    expect(section.locator(".call-norm")).to_contain_text("Норма: 2 дозвонов")
    chart = _chart(page, world)
    expect(chart.locator("figcaption")).to_contain_text("норма выполнена в 1 из 7 рабочих дней")
    expect(chart.locator("rect.norm-line")).to_be_visible()
    box = chart.locator("svg.norm-bars").bounding_box()
    assert box and box["width"] <= PHONE["width"]
    chart.get_by_text("По дням", exact=True).click()
    expect(chart.locator("table.norm-days tr.met td").last).to_have_text("выполнена")
    fits(page)
    context.close()
