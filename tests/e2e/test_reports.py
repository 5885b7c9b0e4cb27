"""A sales head reads the team report in a real browser: figures, charts, the CSV download."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login
from tests.factories import make_deal, make_lead


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

    with page.expect_download() as download:
        page.locator("#download-csv").click()
    body = download.value.path().read_text(encoding="utf-8-sig")
    assert body.splitlines()[0] == "team;kind;metric;value;previous"
    assert f"{world.team.name};qualification;leads;2;0" in body
