"""Each PBX's requests read as CallEvents, after their signature is checked.

Formats (README, "Telephony", lists the sources):
- Mango Office VPBX: form fields vpbx_api_key, sign, json; sign = sha256(api_key + json + salt).
- Zadarma: form-encoded NOTIFY_* fields; the Signature header is base64 of the hex
  HMAC-SHA1 of the event's own fields joined (ZADARMA_SIGNED below), keyed by the API secret.
- Generic: our JSON shape, X-Timestamp and X-Signature = hex HMAC-SHA256 of "timestamp.body".
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import forms

from leads.models import ContactAttempt
from telephony.events import BadEvent, BadSignature, CallEvent, Kind
from telephony.models import Call, PbxConnection

Outcome = ContactAttempt.Outcome


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _timestamp(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise BadEvent(f"not a unix time: {value!r}") from None


# Mango Office ---------------------------------------------------------------------------------


def mango_sign(connection: PbxConnection, payload: str) -> str:
    return hashlib.sha256(
        (connection.api_key + payload + connection.api_secret).encode()
    ).hexdigest()


def mango_payload(connection: PbxConnection, form: Mapping[str, str]) -> dict:
    """The request's json, once its key and sign are the connection's."""
    payload, sign = form.get("json", ""), form.get("sign", "")
    if not _same(connection.api_key, form.get("vpbx_api_key", "")) or not _same(
        mango_sign(connection, payload), sign
    ):
        raise BadSignature("vpbx_api_key or sign do not match")
    try:
        data = json.loads(payload)
    except ValueError:
        raise BadEvent("json is not JSON") from None
    if not isinstance(data, dict) or not data.get("entry_id"):
        raise BadEvent("json has no entry_id")
    return data


def _party(data: dict, side: str) -> dict:
    party = data.get(side) or {}
    if not isinstance(party, dict):
        raise BadEvent(f"{side} is not an object")
    return {k: str(v) for k, v in party.items() if v is not None}


def _mango_parties(data: dict) -> dict:
    """Who is the customer and who is ours: an employee has an extension, a customer a number."""
    caller, called = _party(data, "from"), _party(data, "to")
    if caller.get("extension") and not called.get("extension"):
        return {
            "direction": Call.Direction.OUTBOUND,
            "customer": called.get("number", ""),
            "line": caller.get("number", ""),
            "extension": caller["extension"],
        }
    return {
        "direction": Call.Direction.INBOUND,
        "customer": caller.get("number", ""),
        "line": called.get("line_number", ""),
        "extension": called.get("extension", ""),
    }


MANGO_STATES = {"Appeared": Kind.RINGING, "Connected": Kind.ANSWERED, "Disconnected": Kind.HUNG_UP}


def mango_call(data: dict) -> CallEvent | None:
    """events/call: the call's state; None for a state we do not track (OnHold)."""
    kind = MANGO_STATES.get(str(data.get("call_state")))
    if kind is None:
        return None
    return CallEvent(
        call_id=str(data["entry_id"]),
        kind=kind,
        at=_timestamp(data.get("timestamp")),
        **_mango_parties(data),
    )


def mango_summary(data: dict) -> CallEvent:
    """events/summary: the call's final facts. talk_time is when the talk began (0: never)."""
    ended = _timestamp(data.get("end_time"))
    talked = _timestamp(data["talk_time"]) if str(data.get("talk_time") or "0") != "0" else None
    answered = str(data.get("entry_result")) == "1" and talked is not None
    parties = _mango_parties(data)
    direction = {"1": Call.Direction.INBOUND, "2": Call.Direction.OUTBOUND}
    parties["direction"] = direction.get(str(data.get("call_direction")), parties["direction"])
    return CallEvent(
        call_id=str(data["entry_id"]),
        kind=Kind.ENDED,
        at=ended,
        started_at=_timestamp(data.get("create_time")),
        **parties,
        talk_s=max(0, int((ended - talked).total_seconds())) if talked else 0,
        outcome=Outcome.REACHED if answered else Outcome.NO_ANSWER,
    )


def mango_recording(data: dict) -> CallEvent | None:
    """events/recording: a recording id once the recording is complete."""
    if str(data.get("recording_state")) != "Completed" or not data.get("recording_id"):
        return None
    return CallEvent(
        call_id=str(data["entry_id"]),
        kind=Kind.RECORDING,
        at=_timestamp(data.get("timestamp")),
        recording_id=str(data["recording_id"]),
    )


# Zadarma --------------------------------------------------------------------------------------

# The fields each notification signs, in order (Zadarma's own client, lib/Webhook/Notify*.php).
ZADARMA_SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}


def zadarma_sign(connection: PbxConnection, form: Mapping[str, str]) -> str:
    signed = "".join(form.get(name, "") for name in ZADARMA_SIGNED[form["event"]])
    digest = hmac.new(connection.api_secret.encode(), signed.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def zadarma_event(
    connection: PbxConnection, form: Mapping[str, str], signature: str
) -> CallEvent | None:
    name = form.get("event", "")
    if name not in ZADARMA_SIGNED:
        raise BadEvent(f"unknown event {name!r}")
    if not _same(zadarma_sign(connection, form), signature):
        raise BadSignature("Signature does not match")
    if not form.get("pbx_call_id"):
        raise BadEvent("no pbx_call_id")
    now = datetime.now(UTC)
    if name == "NOTIFY_RECORD":
        return CallEvent(
            call_id=form["pbx_call_id"],
            kind=Kind.RECORDING,
            at=now,
            recording_id=form["call_id_with_rec"],
        )
    outbound = name.startswith("NOTIFY_OUT")
    if name == "NOTIFY_ANSWER":
        # call_start is the call's start; the answer is now. The parties are known by now.
        return CallEvent(call_id=form["pbx_call_id"], kind=Kind.ANSWERED, at=now)
    started = _zadarma_time(connection, form.get("call_start", ""))
    ringing = CallEvent(
        call_id=form["pbx_call_id"],
        kind=Kind.RINGING,
        at=started,
        direction=Call.Direction.OUTBOUND if outbound else Call.Direction.INBOUND,
        customer=form.get("destination" if outbound else "caller_id", ""),
        line=form.get("caller_id" if outbound else "called_did", ""),
        extension=form.get("internal", ""),
    )
    if name in ("NOTIFY_END", "NOTIFY_OUT_END"):
        answered = form.get("disposition") == "answered"
        return replace(
            ringing,
            kind=Kind.ENDED,
            at=now,
            started_at=started,
            talk_s=_seconds(form.get("duration", "0")) if answered else 0,
            outcome=_zadarma_outcome(form.get("disposition", "")),
            recording_id=form.get("call_id_with_rec", "") if form.get("is_recorded") == "1" else "",
        )
    return ringing


def _zadarma_time(connection: PbxConnection, text: str) -> datetime:
    """call_start is "YYYY-MM-DD HH:MM:SS" without a zone: read in the team's time zone (the
    PBX account is set to it, README)."""
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - zoned next line
    except ValueError:
        raise BadEvent(f"call_start is not a time: {text!r}") from None
    return naive.replace(tzinfo=ZoneInfo(connection.team.time_zone))


def _seconds(text: str) -> int:
    if not text.isdigit():
        raise BadEvent(f"duration is not seconds: {text!r}")
    return int(text)


def _zadarma_outcome(disposition: str) -> str:
    if disposition == "answered":
        return Outcome.REACHED
    if disposition == "busy":
        return Outcome.BUSY
    return Outcome.NO_ANSWER  # no answer, cancel, failed and the account's limits


# Generic JSON ---------------------------------------------------------------------------------

# A signed request older or newer than this is refused: a captured request cannot be replayed.
GENERIC_MAX_SKEW_S = 300


def generic_sign(connection: PbxConnection, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(connection.api_secret.encode(), message, hashlib.sha256).hexdigest()


class GenericEventForm(forms.Form):
    call_id = forms.CharField(max_length=100)
    event = forms.ChoiceField(
        choices=[
            (k.value, k.value) for k in (Kind.RINGING, Kind.ANSWERED, Kind.ENDED, Kind.RECORDING)
        ]
    )
    at = forms.DateTimeField()
    started_at = forms.DateTimeField(required=False)
    direction = forms.ChoiceField(choices=Call.Direction.choices, required=False)
    customer = forms.CharField(max_length=40, required=False)
    line = forms.CharField(max_length=40, required=False)
    extension = forms.CharField(max_length=20, required=False)
    talk_seconds = forms.IntegerField(min_value=0, required=False)
    outcome = forms.ChoiceField(
        choices=[(o, o) for o in (Outcome.REACHED, Outcome.NO_ANSWER, Outcome.BUSY)],
        required=False,
    )
    recording_id = forms.CharField(max_length=200, required=False)
    recording_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    def clean(self) -> None:
        data = self.cleaned_data
        if data.get("event") == Kind.ENDED and not data.get("outcome"):
            raise forms.ValidationError("an ended call needs its outcome")


def generic_event(
    connection: PbxConnection, body: bytes, timestamp: str, signature: str
) -> CallEvent:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > GENERIC_MAX_SKEW_S:
        raise BadSignature("X-Timestamp is missing or not within 5 minutes")
    if not _same(generic_sign(connection, timestamp, body), signature):
        raise BadSignature("X-Signature does not match")
    try:
        data = json.loads(body)
    except ValueError:
        raise BadEvent("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("the body is not a JSON object")
    form = GenericEventForm({k: v for k, v in data.items() if v is not None})
    if not form.is_valid():
        raise BadEvent(form.errors.as_json())
    clean = form.cleaned_data
    return CallEvent(
        call_id=clean["call_id"],
        kind=Kind(clean["event"]),
        at=clean["at"],
        started_at=clean["started_at"],
        direction=clean["direction"],
        customer=clean["customer"],
        line=clean["line"],
        extension=clean["extension"],
        talk_s=clean["talk_seconds"] or 0,
        outcome=clean["outcome"],
        recording_id=clean["recording_id"],
        recording_url=clean["recording_url"],
    )
