"""A sales head reads the team report in a real browser, in English and in Russian: figures,
arrows coloured by whether the change is good, charts, the CSV for people and the API's."""

import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import login
from tests.factories import make_deal, make_lead
from tests.reports.test_team_report import week  # noqa: F401 - the fixture

GREEN, RED = "rgb(21, 128, 61)", "rgb(185, 28, 28)"
WEEK = "?from=2026-11-02&to=2026-11-08"


def test_head_opens_the_team_report_sees_the_charts_and_downloads_the_csv(
    page: Page, live_server, world
):
    make_deal(world, now=timezone.now() - timedelta(days=1))
    make_lead(world.team, phone="+79160000002")
    login(page, live_server, "head")
    expect(page).to_have_url(f"{live_server.url}/reports/")

    team = page.locator(f"section.report[data-team='{world.team.pk}']")
    expect(team.locator("tr[data-metric=leads] td.now")).to_contain_text("2")
    expect(team.locator(f"#funnel-{world.team.pk} .bar")).to_have_count(5)
    expect(team.locator(f"#reaction-{world.team.pk} svg polyline")).to_be_attached()
    expect(page.locator(f"section.report[data-team='{world.sales.pk}']")).to_be_visible()
    # The period the page covers is in the form.
    today = timezone.localdate()
    expect(page.locator("input[name=date_to]")).to_have_value(today.isoformat())
    expect(page.locator("input[name=date_from]")).to_have_value(
        (today - timedelta(days=29)).isoformat()
    )

    with page.expect_download() as download:
        page.locator("#download-csv").click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert body.splitlines()[0] == "Team,Metric,This period,Before,Change"
    assert f'{world.team.name} (qualifies leads),Leads in,2,0,"up, better"' in body

    # The machine CSV stays the API's: codes, a decimal point.
    machine = page.request.get(live_server.url + page.locator("#api-csv").get_attribute("href"))
    assert machine.ok
    text = machine.body().decode("utf-8-sig")
    assert text.splitlines()[0] == "team;kind;metric;value;previous"
    assert f"{world.team.name};qualification;leads;2;0" in text


def _arrows_are_coloured(page: Page, team_id: int) -> None:
    team = page.locator(f"section.report[data-team='{team_id}']")
    up_good = team.locator("tr[data-metric=leads] .change")
    expect(up_good).to_have_text("▲")
    expect(up_good).to_have_css("color", GREEN)
    up_bad = team.locator("tr[data-metric=breaches_total] .change")
    expect(up_bad).to_have_text("▲")
    expect(up_bad).to_have_css("color", RED)
    # The words a screen reader says instead of the colour.
    expect(team.locator("tr[data-metric=breaches_total] .sr-only")).to_be_attached()


def test_head_reads_what_moved_and_whether_it_is_good(page: Page, live_server, week):  # noqa: F811
    login(page, live_server, "head")
    page.goto(f"{live_server.url}/reports/{WEEK}")
    _arrows_are_coloured(page, week.team.pk)
    team = page.locator(f"section.report[data-team='{week.team.pk}']")
    expect(team.locator("h2")).to_have_text(re.compile(r"^Call centre — qualifies leads$"))
    expect(team.locator("tr[data-metric=revenue] td.now")).to_contain_text("300,000 ₽")
    expect(team.locator("tr[data-metric=breaches_total] .sr-only")).to_have_text("up, worse")
    expect(team.locator("tr[data-metric=within_warn_share] th")).to_have_text(
        "Called within 15 minutes (warning)"
    )


def test_head_reads_the_report_in_russian(browser: Browser, live_server, week):  # noqa: F811
    context = browser.new_context(locale="ru-RU", accept_downloads=True)
    page = context.new_page()
    login(page, live_server, "head")
    page.goto(f"{live_server.url}/reports/{WEEK}")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    _arrows_are_coloured(page, week.team.pk)
    team = page.locator(f"section.report[data-team='{week.team.pk}']")
    expect(team.locator("tr[data-metric=revenue] td.now")).to_contain_text("300\u00a0000 ₽")
    expect(team.locator("tr[data-metric=reaction_median] td.now")).to_contain_text("18,0")
    expect(team.locator("tr[data-metric=breaches_total] .sr-only")).to_have_text("рост, хуже")
    # The chart's numbers are SVG's, not Russian: no decimal comma inside the drawing.
    chart = team.locator(f"#reaction-{week.team.pk} svg")
    expect(chart.locator("circle")).to_have_count(1)
    for attribute in ("cx", "cy"):
        value = chart.locator("circle").first.get_attribute(attribute)
        assert re.fullmatch(r"\d+\.\d", value), value
    assert "," not in chart.get_attribute("viewBox")

    with page.expect_download() as download:
        page.locator("#download-csv").click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = body.splitlines()
    assert lines[0] == "Команда;Показатель;Этот период;Предыдущий период;Изменение"
    assert "Call centre (квалифицирует лиды);Время реакции, медиана (рабочие минуты);18,0;" in body
    context.close()
