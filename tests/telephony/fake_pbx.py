"""A fake cloud PBX for tests: it signs and posts each vendor's events in their published
shapes over real HTTP. The signing is written here from the vendors' documents, not taken
from the app, so a mistake in the app's check cannot hide behind the same mistake here."""

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def _send(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as refused:
        return Answer(refused.code, refused.read())


class FakePbx:
    def __init__(self, base_url: str, url_key: str, api_key: str, secret: str) -> None:
        self.base_url, self.url_key = base_url, url_key
        self.api_key, self.secret = api_key, secret

    # Mango Office: form fields vpbx_api_key, sign = sha256(key + json + salt), json.
    def mango(self, kind: str, data: dict, *, sign: str | None = None) -> Answer:
        payload = json.dumps(data, ensure_ascii=False)
        good = hashlib.sha256((self.api_key + payload + self.secret).encode()).hexdigest()
        form = {"vpbx_api_key": self.api_key, "sign": sign or good, "json": payload}
        url = f"{self.base_url}/api/v1/telephony/mango/{self.url_key}/events/{kind}"
        return _send(urllib.request.Request(url, urllib.parse.urlencode(form).encode()))

    def mango_raw(self, kind: str, payload: str) -> Answer:
        good = hashlib.sha256((self.api_key + payload + self.secret).encode()).hexdigest()
        form = {"vpbx_api_key": self.api_key, "sign": good, "json": payload}
        url = f"{self.base_url}/api/v1/telephony/mango/{self.url_key}/events/{kind}"
        return _send(urllib.request.Request(url, urllib.parse.urlencode(form).encode()))

    # Zadarma: form fields; Signature = base64(hex hmac-sha1(the event's signed fields)).
    SIGNED = {
        "NOTIFY_START": ("caller_id", "called_did", "call_start"),
        "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
        "NOTIFY_END": ("caller_id", "called_did", "call_start"),
        "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
        "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
        "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
        "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
    }

    def zadarma(self, fields: dict, *, secret: str | None = None) -> Answer:
        signed = "".join(fields.get(name, "") for name in self.SIGNED[fields["event"]])
        digest = hmac.new((secret or self.secret).encode(), signed.encode(), hashlib.sha1)
        signature = base64.b64encode(digest.hexdigest().encode()).decode()
        url = f"{self.base_url}/api/v1/telephony/zadarma/{self.url_key}/"
        body = urllib.parse.urlencode(fields).encode()
        return _send(urllib.request.Request(url, body, headers={"Signature": signature}))

    def zadarma_echo(self, value: str) -> Answer:
        query = urllib.parse.urlencode({"zd_echo": value})
        return _send(
            urllib.request.Request(
                f"{self.base_url}/api/v1/telephony/zadarma/{self.url_key}/?{query}"
            )
        )

    # Generic: JSON; X-Signature = hex hmac-sha256("<X-Timestamp>.<body>").
    def generic(self, data: dict, *, at: int | None = None, secret: str | None = None) -> Answer:
        body = json.dumps(data).encode()
        stamp = str(at if at is not None else int(time.time()))
        key = (secret or self.secret).encode()
        signature = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": stamp,
            "X-Signature": signature,
        }
        url = f"{self.base_url}/api/v1/telephony/generic/{self.url_key}/"
        return _send(urllib.request.Request(url, body, headers=headers))


class CommandReceiver:
    """The PBX's command API: records each command's path and form (Mango, POST) or headers
    (Zadarma, GET), answers as each does when it takes the command (Mango {"result": 1000},
    Zadarma {"status": "success"}), or refuses when told to."""

    def __init__(self, refuse_with: int | None = None) -> None:
        self.commands: list[tuple[str, dict]] = []
        self.refuse_with = refuse_with
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = dict(urllib.parse.parse_qsl(body.decode()))
                receiver.commands.append((self.path, form))
                answer = json.dumps({"result": receiver.refuse_with or 1000}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self) -> None:  # Zadarma's API: GET with an Authorization header
                receiver.commands.append((self.path, dict(self.headers)))
                status = "error" if receiver.refuse_with else "success"
                answer = {"status": status, "message": f"refused {receiver.refuse_with}"}
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/vpbx/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
