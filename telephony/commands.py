"""Commands to the PBX: click-to-call asks it to ring the qualifier's extension, then the
customer. A small HTTP client with a timeout; a refusal is a PbxRefused with the PBX's words."""

import base64
import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

from telephony.models import PbxConnection

TIMEOUT_S = 5
MANGO_API = "https://app.mango-office.ru/vpbx/"
ZADARMA_API = "https://api.zadarma.com"


class PbxRefused(Exception):
    """The PBX did not take the command (its answer, or why it could not be reached)."""


def ring(connection: PbxConnection, extension: str, number: str) -> None:
    """Ring `extension`, then connect it to `number` (E.164)."""
    if connection.provider == PbxConnection.Provider.MANGO:
        _mango_callback(connection, extension, number)
    elif connection.provider == PbxConnection.Provider.ZADARMA:
        _zadarma_callback(connection, extension, number)
    else:
        raise PbxRefused("this PBX takes no commands")


def mango_request(connection: PbxConnection, path: str, command: dict) -> urllib.request.Request:
    """A Mango command: form fields vpbx_api_key, sign = sha256(key + json + salt), json."""
    payload = json.dumps(command)
    sign = hashlib.sha256(
        (connection.api_key + payload + connection.api_secret).encode()
    ).hexdigest()
    form = {"vpbx_api_key": connection.api_key, "sign": sign, "json": payload}
    url = (connection.api_url or MANGO_API).rstrip("/") + path
    return urllib.request.Request(url, urllib.parse.urlencode(form).encode())  # noqa: S310 - api_url is an http(s) URLField


def zadarma_request(
    connection: PbxConnection, method: str, params: dict[str, str]
) -> urllib.request.Request:
    """A Zadarma API call: GET with Authorization "<key>:<sign>", sign = base64 of the hex
    HMAC-SHA1 of method + sorted query + md5(query) (their client's makeSign)."""
    query = urllib.parse.urlencode(sorted(params.items()))
    signed = method + query + hashlib.md5(query.encode()).hexdigest()  # noqa: S324 - their scheme
    digest = hmac.new(connection.api_secret.encode(), signed.encode(), hashlib.sha1).hexdigest()
    auth = f"{connection.api_key}:{base64.b64encode(digest.encode()).decode()}"
    url = (connection.api_url or ZADARMA_API).rstrip("/") + method + "?" + query
    return urllib.request.Request(url, headers={"Authorization": auth})  # noqa: S310 - api_url is an http(s) URLField


def _mango_callback(connection: PbxConnection, extension: str, number: str) -> None:
    command = {
        "command_id": secrets.token_hex(8),
        "from": {"extension": extension},
        "to_number": number.lstrip("+"),
    }
    answer = _send(mango_request(connection, "/commands/callback", command))
    # Mango answers {"result": 1000} when it took the command; other codes are refusals.
    if str(answer.get("result")) != "1000":
        raise PbxRefused(f"Mango answered {answer.get('result')}")


def _zadarma_callback(connection: PbxConnection, extension: str, number: str) -> None:
    params = {"from": extension, "to": number}
    answer = _send(zadarma_request(connection, "/v1/request/callback/", params))
    if answer.get("status") != "success":
        raise PbxRefused(str(answer.get("message") or "Zadarma refused the call"))


def _send(request: urllib.request.Request) -> dict:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as refused:
        body = refused.read()
        try:
            return json.loads(body) or {"message": f"HTTP {refused.code}"}
        except ValueError:
            raise PbxRefused(f"HTTP {refused.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as unreachable:
        raise PbxRefused(f"the PBX cannot be reached ({unreachable})") from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise PbxRefused("the PBX's answer is not JSON") from None
    return answer if isinstance(answer, dict) else {}
