"""Click-to-call commands as the PBXs' APIs receive them (a local fake API over HTTP)."""

import base64
import hashlib
import hmac
import urllib.parse

import pytest

from telephony.commands import PbxRefused, ring
from telephony.models import PbxConnection
from tests.telephony.fake_pbx import CommandReceiver


@pytest.fixture
def receiver():
    fake = CommandReceiver()
    yield fake
    fake.close()


def _zadarma(receiver: CommandReceiver) -> PbxConnection:
    return PbxConnection(provider="zadarma", api_key="u1", api_secret="s1", api_url=receiver.url)


def test_zadarma_gets_a_callback_request_signed_as_its_api_asks(receiver):
    ring(_zadarma(receiver), "101", "+79161234567")

    path, headers = receiver.commands[0]
    method, _, query = path.removeprefix("/vpbx").partition("?")
    assert method == "/v1/request/callback/"
    assert urllib.parse.parse_qs(query) == {"from": ["101"], "to": ["+79161234567"]}
    # Zadarma's makeSign: base64(hex hmac-sha1(method + query + md5(query))).
    signed = method + query + hashlib.md5(query.encode()).hexdigest()  # noqa: S324
    digest = hmac.new(b"s1", signed.encode(), hashlib.sha1).hexdigest()
    assert headers["Authorization"] == "u1:" + base64.b64encode(digest.encode()).decode()


def test_a_refusal_or_an_unreachable_pbx_is_a_clear_error(receiver):
    receiver.refuse_with = 1
    with pytest.raises(PbxRefused, match="refused 1"):
        ring(_zadarma(receiver), "101", "+79161234567")

    gone = PbxConnection(
        provider="mango", api_key="k", api_secret="s", api_url="http://127.0.0.1:9/"
    )
    with pytest.raises(PbxRefused, match="cannot be reached"):
        ring(gone, "101", "+79161234567")
