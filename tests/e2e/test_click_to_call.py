"""Click-to-call from the workspace: the PBX gets the command, its events show the call live,
and the attempt lands on the timeline."""

import json
import time
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from telephony.models import Extension, PbxConnection
from tests.e2e.conftest import login
from tests.factories import make_lead
from tests.telephony.fake_pbx import CommandReceiver, FakePbx


def test_the_qualifier_calls_a_lead_through_the_pbx_and_sees_the_call_live(
    page: Page, live_server, world
):
    lead = make_lead(world.team, phone="+79161234567")
    receiver = CommandReceiver(refuse_with=3102)
    connection = PbxConnection.objects.create(
        team=world.team,
        provider=PbxConnection.Provider.MANGO,
        api_key="key-1",
        api_secret="salt-1",
        api_url=receiver.url,
    )
    Extension.objects.create(connection=connection, user=world.qualifier, extension="101")
    pbx = FakePbx(live_server.url, connection.url_key, "key-1", "salt-1")
    try:
        login(page, live_server, "qualifier")
        page.goto(f"{live_server.url}/leads/{lead.pk}/")

        page.get_by_role("button", name="Call +79161234567").click()
        expect(page.get_by_role("alert")).to_contain_text("The PBX refused the call: ")

        receiver.refuse_with = None
        page.get_by_role("button", name="Call +79161234567").click()
        expect(page.locator("#call-state")).to_have_text("the PBX is ringing your phone…")
        path, form = receiver.commands[-1]
        assert path == "/vpbx/commands/callback"
        command = json.loads(form["json"])
        assert command["from"] == {"extension": "101"}
        assert command["to_number"] == "79161234567"

        now = int(time.time())
        parties = {
            "from": {"extension": "101", "number": "sip:101@vpbx"},
            "to": {"number": "79161234567"},
        }
        for seq, state in enumerate(("Appeared", "Connected"), 1):
            call = {"entry_id": "E1", "call_id": "C1", "seq": seq, "call_state": state}
            assert pbx.mango("call", {**call, "timestamp": now, **parties}).status == 200
        expect(page.locator("#call-state")).to_contain_text("talking 00:")

        summary = {
            "entry_id": "E1",
            "call_direction": 2,
            **parties,
            "create_time": now,
            "forward_time": now,
            "talk_time": now,
            "end_time": now + 42,
            "entry_result": 1,
            "disconnect_reason": 1110,
        }
        assert pbx.mango("summary", summary).status == 200
        expect(page.locator("#call-state")).to_have_text("ended, 42 s")
        expect(page.locator("#lead-timeline")).to_contain_text("reached, 42 s")
    finally:
        receiver.close()


def test_a_missed_call_from_a_stranger_is_on_top_of_the_queue(page: Page, live_server, world):
    now = timezone.now()
    make_lead(world.team, name="Свежая Заявка", phone="+79160000002", now=now - timedelta(hours=1))
    connection = PbxConnection.objects.create(
        team=world.team, provider=PbxConnection.Provider.GENERIC, api_secret="s-1"
    )
    pbx = FakePbx(live_server.url, connection.url_key, "", "s-1")
    call = {"call_id": "m-1", "direction": "in", "customer": "+79035550011", "line": "74951112233"}
    pbx.generic({**call, "event": "ringing", "at": now.isoformat()})
    ended = {**call, "event": "ended", "at": (now + timedelta(seconds=20)).isoformat()}
    assert pbx.generic({**ended, "talk_seconds": 0, "outcome": "no_answer"}).status == 200

    login(page, live_server, "qualifier")
    page.goto(f"{live_server.url}/leads/")
    first = page.locator("#queue-rows tr.lead-row").first
    expect(first).to_contain_text("+7 903 555-00-11")
    expect(first.locator(".tag.missed")).to_have_text("Missed call")

    page.locator("#take-next").click()
    expect(page.locator("#missed-call")).to_contain_text("nobody answered")
