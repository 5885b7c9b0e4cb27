"""The queue as a qualifier uses it in a real browser: the lead to call now on top, filters
from the dropdowns, and a list that stays live without losing what the user expanded."""

import json
import re
import time
import urllib.request
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.models import Lead
from tests.e2e.conftest import login
from tests.e2e.test_workspace import Clicks, script
from tests.factories import SourceFactory, make_lead


def _post_to_intake(live_server, source, **fields) -> None:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/intake/",
        data=json.dumps(fields).encode(),
        headers={"Content-Type": "application/json", "X-Intake-Key": source.intake_key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_the_lead_to_call_now_is_on_top_and_take_next_serves_it(page: Page, live_server, world):
    now = timezone.now()
    checked = make_lead(world.team, name="Чужой Проверенный", now=now - timedelta(days=7))
    Lead.objects.filter(pk=checked.pk).update(
        state="checked", assignee=world.teammate, first_attempt_at=now
    )
    tried = make_lead(world.team, name="Уже Звонили", phone="+79160000001", now=now)
    Lead.objects.filter(pk=tried.pk).update(first_attempt_at=now, due_at=now - timedelta(minutes=1))
    never = make_lead(
        world.team, name="Ещё Не Звонили", phone="+79160000002", now=now - timedelta(hours=2)
    )

    login(page, live_server, "qualifier")
    rows = page.locator("#queue-rows tr.lead-row")
    expect(rows.first).to_contain_text("Ещё Не Звонили")
    expect(page.locator("#queue-rows")).not_to_contain_text("Чужой Проверенный")

    page.locator("#take-next").click()
    expect(page).to_have_url(f"{live_server.url}/leads/{never.pk}/")


def test_filters_from_the_dropdowns_narrow_the_list_and_live_in_the_url(
    page: Page, live_server, world
):
    now = timezone.now()
    make_lead(world.team, name="Старый Лид", phone="+79160000011", now=now - timedelta(days=8))
    make_lead(world.team, name="Свежий Лид", phone="+79160000012", now=now)
    login(page, live_server, "qualifier")
    rows = page.locator("#queue-rows tr.lead-row")
    expect(rows).to_have_count(2)

    page.locator("#queue-filters select[name=age]").select_option("older_7d")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Старый Лид")
    expect(page).to_have_url(
        f"{live_server.url}/leads/?state=&source=&temperature=&assignee=&age=older_7d"
    )

    page.locator("#queue-filters select[name=temperature]").select_option("hot")
    expect(page.locator("#queue-rows")).to_contain_text("Nothing found for these filters.")

    page.go_back()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Старый Лид")
    page.reload()  # a bookmark of the filtered list opens filtered
    expect(rows).to_have_count(1)
    expect(page.locator("#queue-filters select[name=age]")).to_have_value("older_7d")


def test_a_poll_while_the_filtered_list_is_on_its_way_never_brings_the_old_list_back(
    page: Page, live_server, world
):
    """The list polls every 2 s; a filtered list that takes 4.5 s to arrive meets two polls
    (one of them answered with a changed list: the due times move on)."""
    now = timezone.now()
    make_lead(world.team, name="Старый Лид", phone="+79160000011", now=now - timedelta(days=8))
    make_lead(world.team, name="Свежий Лид", phone="+79160000012", now=now)
    login(page, live_server, "qualifier")
    rows = page.locator("#queue-rows tr.lead-row")
    expect(rows).to_have_count(2)

    def slow(route):
        time.sleep(4.5)  # the browser polls meanwhile: only the filter's request is held
        route.continue_()

    page.route("**/leads/?*age=older_7d*", slow)
    page.locator("#queue-filters select[name=age]").select_option("older_7d")
    expect(rows).to_have_count(1, timeout=10_000)
    page.wait_for_timeout(2_500)  # another poll, now of the filtered list
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Старый Лид")


def test_a_new_lead_appears_within_three_seconds_without_collapsing_the_expanded_list(
    page: Page, live_server, world
):
    source = SourceFactory()
    source.team = world.team
    source.save()
    now = timezone.now()
    for i in range(55):
        make_lead(
            world.team,
            name=f"Клиент {i}",
            phone=f"+7916100{i:04d}",
            now=now - timedelta(minutes=30 + i),
        )
    page.set_viewport_size({"width": 1280, "height": 700})
    login(page, live_server, "qualifier")
    rows = page.locator("#queue-rows tr.lead-row")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Show more").click()
    expect(rows).to_have_count(55)
    page.mouse.wheel(0, 1200)
    page.wait_for_timeout(300)
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0

    _post_to_intake(live_server, source, name="Срочный Клиент", phone="+79035550011")

    # Fresh and inside its SLA window: it ranks first, within one poll (2 s) plus the round trip.
    expect(rows.first).to_contain_text("Срочный Клиент", timeout=3_000)
    expect(rows).to_have_count(56)
    page.wait_for_timeout(2_500)  # another poll: nothing changed, nothing collapses
    expect(rows).to_have_count(56)
    assert abs(page.evaluate("window.scrollY") - scrolled) < 60


def test_the_due_times_tick_on_the_queue(page: Page, live_server, world):
    make_lead(world.team, name="Тикающий Лид")
    login(page, live_server, "qualifier")
    due = page.locator("#queue-rows tr.lead-row td.due time")
    # The server writes "in 19 min"; the deferred countdown script turns it into m:ss.
    expect(due).to_have_text(re.compile(r"in \d+:\d\d"))
    first = due.inner_text()
    page.wait_for_timeout(2_100)
    assert due.inner_text() != first  # "in 19:58" → "in 19:56"


def test_n_takes_the_next_lead_from_the_queue(page: Page, live_server, world):
    lead = make_lead(world.team)
    login(page, live_server, "qualifier")
    page.wait_for_load_state("domcontentloaded")  # the shortcuts' script (deferred) has run
    page.keyboard.press("n")
    expect(page).to_have_url(f"{live_server.url}/leads/{lead.pk}/")


def test_from_the_queue_a_lead_is_converted_in_six_clicks_and_junked_in_three(
    page: Page, live_server, world
):
    """Every click counts, a choice in a dropdown too; typing does not."""
    kitchen, decides, budget = script(world)
    buyer = make_lead(world.team, name="Покупатель", now=timezone.now() - timedelta(minutes=2))
    make_lead(world.team, name="Спамер", phone="+79035550000")
    login(page, live_server, "qualifier")
    clicks = Clicks()

    clicks(page.locator("#take-next"))
    expect(page).to_have_url(f"{live_server.url}/leads/{buyer.pk}/")
    form = page.locator("#answers-form")
    clicks.choose(form.locator(f"select[name=c{kitchen.pk}]"), "custom")
    clicks(form.locator(f"input[name=c{decides.pk}][value=yes]"))
    form.locator(f"input[name=c{budget.pk}]").fill("450 000")
    clicks(page.locator("#attempt-form input[name=check]"))
    clicks(page.locator("#log-call"))  # "reached" is the outcome a call usually has
    clicks(page.locator("#convert"))
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bconverted\b"))
    assert clicks.count <= 6

    clicks = Clicks()
    clicks(page.get_by_role("button", name="Take next").first)
    clicks.choose(page.locator("#junk-form select[name=reason]"), None, label="Spam")
    clicks(page.locator("#junk-confirm"))
    expect(page.locator("h1 .state")).to_have_class(re.compile(r"\bjunk\b"))
    assert clicks.count <= 3


# The page believes it is in a background tab, and records the notifications and tones it makes.
_BACKGROUND_TAB = """
window.__hidden = false;
Object.defineProperty(Document.prototype, "hidden", { get() { return window.__hidden; } });
window.__notes = [];
window.__asked = 0;
window.Notification = function (title, options) { window.__notes.push(title); };
window.Notification.permission = "default";
window.Notification.requestPermission = function () {
  window.__asked += 1;
  window.Notification.permission = "granted";
  return Promise.resolve("granted");
};
window.__tones = 0;
window.AudioContext = function () {
  return {
    currentTime: 0, destination: {},
    createOscillator() {
      return {
        frequency: {}, connect(n) { return n; }, start() { window.__tones += 1; }, stop() {},
      };
    },
    createGain() { return { gain: {}, connect(n) { return n; } }; },
  };
};
"""


def test_a_lead_arriving_while_the_tab_is_in_the_background_notifies_and_sounds(
    page: Page, live_server, world
):
    make_lead(world.team, name="Уже В Очереди")
    page.add_init_script(_BACKGROUND_TAB)
    login(page, live_server, "qualifier")
    notify = page.locator("#notify-me")
    expect(notify).to_be_visible()  # permission not asked yet: the button offers it
    notify.click()
    expect(notify).to_be_hidden()
    assert page.evaluate("window.__asked") == 1
    page.locator("#sound").check()  # remembered in the browser

    page.evaluate("window.__hidden = true")  # the qualifier switched to another tab
    make_lead(world.team, name="Новый Лид", phone="+79035550022")
    deadline = time.monotonic() + 4  # (wait_for_function evaluates a string: the CSP refuses it)
    while not page.evaluate("window.__notes.length") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate("window.__notes") == ["New lead in the queue"]
    assert page.evaluate("window.__tones") == 1

    page.evaluate("window.__hidden = false")  # in front: a new lead only shows in the list
    make_lead(world.team, name="Ещё Лид", phone="+79035550033")
    expect(page.locator("#queue-rows tr.lead-row", has_text="Ещё Лид")).to_be_visible(timeout=4_000)
    assert page.evaluate("window.__notes.length") == 1
