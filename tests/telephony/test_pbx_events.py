"""Each PBX's events, signed and posted over HTTP by the fake PBX, log the call once."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services as lead_services
from leads.models import ContactAttempt, Lead, LeadSource
from telephony.models import Call, Extension, PbxConnection
from tests.factories import make_lead
from tests.telephony.fake_pbx import FakePbx

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "+79161234567"
LINE = "74951112233"


def _pbx(world, live_server, provider: str) -> tuple[PbxConnection, FakePbx]:
    connection = PbxConnection.objects.create(
        team=world.team, provider=provider, api_key="key-1", api_secret="secret-1"
    )
    Extension.objects.create(connection=connection, user=world.qualifier, extension="101")
    return connection, FakePbx(live_server.url, connection.url_key, "key-1", "secret-1")


def _zadarma_time(world, at) -> str:
    return at.astimezone(ZoneInfo(world.team.time_zone)).strftime("%Y-%m-%d %H:%M:%S")


def test_zadarma_answers_its_echo_check(world, live_server):
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.ZADARMA)

    answer = pbx.zadarma_echo("a1b2c3")

    assert (answer.status, answer.body) == (200, b"a1b2c3")


def test_zadarma_inbound_answered_call_writes_the_attempt_with_its_real_duration(
    world, live_server
):
    lead = make_lead(world.team, phone=CUSTOMER, now=timezone.now() - timedelta(minutes=5))
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.ZADARMA)
    start = _zadarma_time(world, timezone.now())
    call = {"pbx_call_id": "in_1", "caller_id": CUSTOMER.lstrip("+"), "call_start": start}

    assert pbx.zadarma({**call, "event": "NOTIFY_START", "called_did": LINE}).status == 200
    pbx.zadarma({**call, "event": "NOTIFY_INTERNAL", "called_did": LINE, "internal": "101"})
    pbx.zadarma({**call, "event": "NOTIFY_ANSWER", "destination": "101", "internal": "101"})
    assert Call.objects.get().state == Call.State.TALKING
    ended = {
        **call,
        "event": "NOTIFY_END",
        "called_did": LINE,
        "internal": "101",
        "duration": "72",
        "disposition": "answered",
        "status_code": "16",
        "is_recorded": "1",
        "call_id_with_rec": "rec_1",
    }
    assert pbx.zadarma(ended).status == 200

    attempt = ContactAttempt.objects.get()
    assert (attempt.lead, attempt.by) == (lead, world.qualifier)
    assert (attempt.outcome, attempt.duration_s) == (ContactAttempt.Outcome.REACHED, 72)
    stored = Call.objects.get()
    assert (stored.state, stored.attempt, stored.recording_id) == ("ended", attempt, "rec_1")
    lead.refresh_from_db()
    assert lead.first_attempt_at == stored.started_at  # the real call stopped the SLA clock

    assert pbx.zadarma(ended).status == 200  # the PBX sends it again: nothing changes
    assert ContactAttempt.objects.count() == 1


def test_mango_missed_call_from_an_unknown_number_becomes_a_missed_lead(world, live_server):
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.MANGO)
    now = int(timezone.now().timestamp())
    parties = {
        "from": {"number": "79035550011"},
        "to": {"extension": "101", "number": "sip:101@vpbx", "line_number": LINE},
    }
    for seq, state in enumerate(("Appeared", "Disconnected"), 1):
        answer = pbx.mango(
            "call",
            {
                "entry_id": "MTox",
                "call_id": "MToxMDA",
                "timestamp": now + seq,
                "seq": seq,
                "call_state": state,
                "location": "abonent",
                **parties,
                "disconnect_reason": 1110,
            },
        )
        assert answer.status == 200
    summary = {
        "entry_id": "MTox",
        "call_direction": 1,
        **parties,
        "line_number": LINE,
        "create_time": now,
        "forward_time": now + 1,
        "talk_time": 0,
        "end_time": now + 20,
        "entry_result": 0,
        "disconnect_reason": 1110,
    }
    assert pbx.mango("summary", summary).status == 200
    assert pbx.mango("summary", summary).status == 200  # a replay

    lead = Lead.objects.get()
    assert (lead.team, lead.phone) == (world.team, "+79035550011")
    assert lead.source.channel == LeadSource.Channel.PHONE
    call = Call.objects.get()
    assert (call.lead, call.missed, call.attempt) == (lead, True, None)
    assert not ContactAttempt.objects.exists()
    assert lead.waiting_since == call.started_at  # first in the queue: the caller waits


def _generic_missed_call(pbx, call_id: str, number: str, at) -> None:
    call = {"call_id": call_id, "direction": "in", "customer": number, "line": LINE}
    assert pbx.generic({**call, "event": "ringing", "at": at.isoformat()}).status == 200
    ended = {**call, "event": "ended", "at": (at + timedelta(seconds=25)).isoformat()}
    assert pbx.generic({**ended, "talk_seconds": 0, "outcome": "no_answer"}).status == 200


def test_a_missed_call_from_an_open_leads_number_lifts_that_lead(world, live_server):
    now = timezone.now()
    lead = make_lead(world.team, phone="+79160000001", now=now - timedelta(hours=1))
    second = [("+79160000001", "mobile", ""), (CUSTOMER, "work", "")]  # its second phone rings
    lead_services.lead_contact_update(lead=lead, by=world.qualifier, phones=second)
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.GENERIC)

    _generic_missed_call(pbx, "m-1", CUSTOMER, now)

    lead.refresh_from_db()
    assert Lead.objects.count() == 1
    assert lead.waiting_since is not None
    assert lead.events.filter(kind="missed_call", note=CUSTOMER).exists()


def test_a_missed_call_from_a_closed_leads_number_is_a_new_lead(world, live_server):
    old = make_lead(world.team, phone=CUSTOMER, now=timezone.now() - timedelta(days=30))
    Lead.objects.filter(pk=old.pk).update(state=Lead.State.JUNK)
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.GENERIC)

    _generic_missed_call(pbx, "m-2", CUSTOMER, timezone.now())

    new = Lead.objects.exclude(pk=old.pk).get()
    assert (new.phone, new.state, Call.objects.get().lead) == (CUSTOMER, "new", new)
    assert new.waiting_since is not None


def test_a_hand_logged_attempt_and_the_pbx_call_are_one_attempt(world, live_server):
    lead = make_lead(world.team, phone=CUSTOMER)
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.GENERIC)
    start = timezone.now()
    lead_services.lead_attempt_log(
        lead=lead, by=world.qualifier, outcome="reached", note="wants a quote", now=start
    )
    call = {"call_id": "c-1", "direction": "out", "customer": CUSTOMER, "extension": "101"}

    assert pbx.generic({**call, "event": "ringing", "at": start.isoformat()}).status == 200
    ended = {
        **call,
        "event": "ended",
        "at": (start + timedelta(seconds=95)).isoformat(),
        "talk_seconds": 80,
        "outcome": "reached",
    }
    assert pbx.generic(ended).json() == {"ok": True}

    attempt = ContactAttempt.objects.get()
    assert (attempt.note, attempt.outcome, attempt.duration_s) == ("wants a quote", "reached", 80)
    assert Call.objects.get().attempt == attempt


def test_a_call_logged_by_hand_after_the_pbx_logged_it_completes_that_attempt(
    world, live_server, client
):
    lead = make_lead(world.team, phone=CUSTOMER, now=timezone.now() - timedelta(minutes=5))
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.GENERIC)
    start = timezone.now() - timedelta(minutes=3)
    call = {"call_id": "c-4", "direction": "out", "customer": CUSTOMER, "extension": "101"}
    pbx.generic({**call, "event": "ringing", "at": start.isoformat()})
    ended = {**call, "event": "ended", "at": (start + timedelta(seconds=95)).isoformat()}
    assert pbx.generic({**ended, "talk_seconds": 80, "outcome": "reached"}).status == 200
    client.force_login(world.qualifier)
    form = {"outcome": "wrong_number", "duration_s": "120", "note": "his daughter answered"}

    client.post(reverse("leads:attempt", args=[lead.pk]), form)

    attempt = ContactAttempt.objects.get()  # one call, one attempt
    assert (attempt.outcome, attempt.note) == ("wrong_number", "his daughter answered")
    assert (attempt.at, attempt.duration_s) == (Call.objects.get().started_at, 80)  # the PBX's
    assert Call.objects.get().hand_logged
    assert lead.events.get(kind="attempt").note == "his daughter answered"

    client.post(reverse("leads:attempt", args=[lead.pk]), {**form, "note": "called again"})
    assert ContactAttempt.objects.count() == 2  # a second entry is another call


def test_a_hand_log_long_after_the_pbx_call_is_another_call(world, live_server):
    lead = make_lead(world.team, phone=CUSTOMER, now=timezone.now() - timedelta(hours=1))
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.GENERIC)
    start = timezone.now() - timedelta(minutes=40)
    call = {"call_id": "c-5", "direction": "out", "customer": CUSTOMER, "extension": "101"}
    ended = {**call, "event": "ended", "at": (start + timedelta(seconds=30)).isoformat()}
    pbx.generic({**ended, "started_at": start.isoformat(), "talk_seconds": 0, "outcome": "busy"})

    lead_services.lead_attempt_log_by_hand(lead=lead, by=world.qualifier, outcome="reached")

    assert ContactAttempt.objects.count() == 2


@pytest.mark.parametrize("provider", ["mango", "zadarma", "generic"])
def test_a_bad_signature_is_refused_and_changes_nothing(world, live_server, provider):
    _, pbx = _pbx(world, live_server, provider)
    now = timezone.now()
    if provider == "mango":
        answer = pbx.mango("call", {"entry_id": "x", "call_state": "Appeared"}, sign="0" * 64)
    elif provider == "zadarma":
        fields = {"event": "NOTIFY_START", "pbx_call_id": "x", "caller_id": "79035550011"}
        answer = pbx.zadarma({**fields, "call_start": _zadarma_time(world, now)}, secret="bad")
    else:
        answer = pbx.generic({"call_id": "x", "event": "ringing"}, secret="bad")

    assert (answer.status, answer.json()) == (403, {"error": "bad signature"})
    assert not Call.objects.exists()


def test_a_replayed_generic_event_is_refused_once_stale(world, live_server):
    _, pbx = _pbx(world, live_server, PbxConnection.Provider.GENERIC)
    event = {"call_id": "c-2", "event": "ringing", "at": timezone.now().isoformat()}

    answer = pbx.generic(event, at=int(timezone.now().timestamp()) - 600)

    assert answer.status == 403
    assert not Call.objects.exists()


def test_malformed_events_are_a_400(world, live_server):
    _, mango = _pbx(world, live_server, PbxConnection.Provider.MANGO)
    generic = FakePbx(
        live_server.url,
        PbxConnection.objects.create(team=world.team, provider="generic", api_secret="s2").url_key,
        "",
        "s2",
    )

    assert mango.mango_raw("call", "{not json").status == 400
    refused = generic.generic({"call_id": "c-3", "event": "ended", "at": "yesterday"})
    assert refused.status == 400
    assert "at" in refused.json()["error"]
    assert not Call.objects.exists()
