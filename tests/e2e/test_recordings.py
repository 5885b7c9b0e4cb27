"""Recordings as evidence in the browser: the head plays the call on a dispute and seeks in it;
the qualifier finds the player on the lead's timeline on a phone, in Russian."""

from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from deals.services import deal_accept
from handoff.disputes import dispute_raise
from telephony import recordings
from telephony.models import Call, PbxConnection
from tests.e2e.conftest import login
from tests.factories import make_criterion, make_deal
from tests.telephony.fake_pbx import RecordingPbx, make_wav

PHONE = {"width": 390, "height": 844}


pytestmark = pytest.mark.usefixtures("recordings_in_tmp")


@pytest.fixture
def pbx() -> Iterator[RecordingPbx]:
    fake = RecordingPbx("key-1", "salt-1")
    yield fake
    fake.close()


def _recorded_deal(world, pbx: RecordingPbx):
    """A handed-off lead whose call the PBX recorded, fetched from the fake Mango."""
    criterion = make_criterion(required=False)
    deal = make_deal(world, name="Анна Смирнова", answers={criterion: "custom"})
    connection = PbxConnection.objects.create(
        team=world.team, provider="mango", api_key="key-1", api_secret="salt-1", api_url=pbx.api_url
    )
    pbx.keep("rec-1", make_wav(4.0))
    call = Call.objects.create(
        connection=connection,
        pbx_call_id="E1",
        direction=Call.Direction.OUTBOUND,
        state=Call.State.ENDED,
        started_at=timezone.now(),
        lead=deal.lead,
        user=world.qualifier,
        attempt=deal.lead.attempts.get(),
        recording_id="rec-1",
    )
    assert recordings.recording_fetch(call.pk, now=timezone.now())
    return deal, criterion


def test_the_head_plays_the_call_on_a_dispute_and_seeks_in_it(page: Page, live_server, world, pbx):
    deal, criterion = _recorded_deal(world, pbx)
    deal_accept(deal=deal, by=world.closer)
    dispute_raise(deal=deal, by=world.closer, criterion=criterion, claim="Not what she said")
    page.set_viewport_size({"width": 1280, "height": 900})
    answers: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: (
            answers.append((r.status, r.headers.get("content-range", "")))
            if "/recording/" in r.url
            else None
        ),
    )

    login(page, live_server, "head")
    page.goto(f"{live_server.url}/disputes/")
    page.get_by_role("link", name="Анна Смирнова").click()
    player = page.get_by_label("Recording of the call")
    expect(player).to_be_visible()

    # Muted: the browser lets a page play muted audio without a click of the user's.
    player.evaluate("audio => { audio.muted = true; return audio.play(); }")
    page.wait_for_function(
        "() => { const a = document.querySelector('audio.recording');"
        " return a.readyState >= 2 && a.currentTime > 0.3; }"
    )
    # Seeking asks the app for a byte range from the middle of the file.
    player.evaluate("audio => { audio.pause(); audio.currentTime = 3; }")
    page.wait_for_function(
        "() => { const a = document.querySelector('audio.recording');"
        " return !a.seeking && a.currentTime >= 3; }"
    )
    assert player.evaluate("audio => audio.duration") == pytest.approx(4.0, abs=0.1)
    # The player asked in byte ranges, and the app answered them.
    assert any(status == 206 and served.startswith("bytes ") for status, served in answers)


def test_the_qualifier_finds_the_player_on_the_lead_on_a_phone_in_russian(
    browser: Browser, live_server, world, pbx
):
    deal, _ = _recorded_deal(world, pbx)
    context = browser.new_context(locale="ru-RU", viewport=PHONE)
    page = context.new_page()
    try:
        login(page, live_server, "qualifier")
        page.goto(f"{live_server.url}/leads/{deal.lead_id}/")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        player = page.get_by_label("Запись разговора")
        player.scroll_into_view_if_needed()
        expect(player).to_be_visible()
        box = player.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        page.wait_for_function("() => document.querySelector('audio.recording').readyState >= 1")
    finally:
        context.close()
