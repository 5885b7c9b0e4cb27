"""The head's inbox after a busy hour, in a real browser, in English and Russian: one line per
team and hour, the bell counting lines, a filter by kind, mark all read."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from crm.deadlines.sweep import sweep as sla_sweep
from crm.notifications.services import Message, notify
from tests.e2e.conftest import login
from tests.factories import make_lead


def busy_hour(world) -> None:
    now = timezone.now()
    for n in range(12):
        make_lead(world.team, name=f"Лид {n}", phone=f"+7916{n:07d}", now=now - timedelta(hours=1))
    sla_sweep(now=now)
    notify(
        [
            Message(
                recipient=world.head,
                kind="dispute",
                message="%(closer)s disputes the handoff of %(contact)s.",
                params={"closer": "Closer", "contact": "Иван"},
                url="/disputes/",
                team=world.sales,
            )
        ],
        now,
    )


def test_head_reads_a_busy_hour_as_two_lines(page: Page, live_server, world):
    busy_hour(world)
    login(page, live_server, "head")
    expect(page.locator("#bell .badge")).to_have_text("2")
    page.locator("#bell").click()
    lines = page.locator("#notification-groups > li")
    expect(lines).to_have_count(2)
    expect(page.locator("#notification-groups")).to_contain_text("12 SLA breaches in Call centre")

    page.get_by_role("link", name="12 SLA breaches in Call centre").click()
    expect(page.locator("#group-items > li")).to_have_count(12)
    page.locator("#back-to-groups").click()

    page.locator("#notification-kinds a[data-kind=dispute]").click()
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("Closer disputes the handoff of Иван.")
    page.locator("#mark-all-read button").click()
    expect(page).to_have_url(f"{live_server.url}/notifications/?kind=dispute")
    expect(page.locator("#bell .badge")).to_have_text("1")

    page.locator("#notification-kinds a", has_text="All").first.click()
    page.locator("#notification-groups li.unread form.mark-group button").click()
    expect(page.locator("#notification-groups li.unread")).to_have_count(0)
    expect(page.locator("#bell .badge")).to_have_count(0)


def test_head_reads_the_inbox_in_russian(browser: Browser, live_server, world):
    busy_hour(world)
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    login(page, live_server, "head")
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator("#notification-groups")).to_contain_text(
        "12 нарушений SLA в команде «Call centre»"
    )
    expect(page.locator("#notification-kinds")).to_contain_text("Нарушения SLA")
    page.get_by_role("button", name="Отметить все как прочитанные").click()
    expect(page.locator("#notification-groups li.unread")).to_have_count(0)
    expect(page.locator("#bell .badge")).to_have_count(0)
    context.close()
