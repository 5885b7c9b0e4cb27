"""A fake cloud PBX for tests: it signs and posts each vendor's events in their published
shapes over real HTTP, and hands out recordings as each vendor's API does. The signing is
written here from the vendors' documents, not taken from the app, so a mistake in the app's
check cannot hide behind the same mistake here."""

import base64
import hashlib
import hmac
import io
import json
import math
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
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


def make_wav(seconds: float = 3.0, rate: int = 8000) -> bytes:
    """A small real recording: a 440 Hz tone, 16-bit mono PCM, as a WAV file."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


class RecordingPbx:
    """The PBXs' side of recordings over HTTP, checked as each vendor checks it:
    - Mango: POST /vpbx/queries/recording/post, form vpbx_api_key, sign, json {"recording_id",
      "action": "download"}; answers 302 to the file (as Mango does) or 404 for an unknown id;
    - Zadarma: GET /vpbx/v1/pbx/record/request/?call_id=<call_id_with_rec>, Authorization
      "<key>:<sign>"; answers {"status": "success", "link": …} or {"status": "error"};
    - the files: GET /files/<name>; with `bearer` set, only with "Authorization: Bearer <it>".
    `down` answers 503 to everything (a PBX in maintenance)."""

    def __init__(self, api_key: str, secret: str, *, bearer: str = "") -> None:
        self.api_key, self.secret, self.bearer = api_key, secret, bearer
        self.files: dict[str, bytes] = {}  # file name → content
        self.recordings: dict[str, str] = {}  # the PBX's recording (or call) id → file name
        self.requests: list[str] = []
        self.down = False
        pbx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                pbx.requests.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if pbx.down:
                    self._answer(503, b"maintenance")
                    return
                form = dict(urllib.parse.parse_qsl(body.decode()))
                payload = form.get("json", "")
                good = hashlib.sha256((pbx.api_key + payload + pbx.secret).encode()).hexdigest()
                if self.path != "/vpbx/queries/recording/post" or form.get("sign") != good:
                    self._answer(401, b'{"result": 3102}', "application/json")
                    return
                command = json.loads(payload)
                name = pbx.recordings.get(command.get("recording_id", ""))
                if command.get("action") != "download" or name is None:
                    self._answer(404, b'{"result": 3102}', "application/json")
                    return
                self.send_response(302)
                self.send_header("Location", f"{pbx.url}/files/{name}")
                self.end_headers()

            def do_GET(self) -> None:
                pbx.requests.append(self.path)
                if pbx.down:
                    self._answer(503, b"maintenance")
                    return
                path, _, query = self.path.partition("?")
                if path == "/vpbx/v1/pbx/record/request/":
                    self._zadarma(path.removeprefix("/vpbx"), query)
                    return
                name = path.removeprefix("/files/")
                if pbx.bearer and self.headers.get("Authorization") != f"Bearer {pbx.bearer}":
                    self._answer(403, b"forbidden")
                    return
                if name not in pbx.files:
                    self._answer(404, b"<html>not found</html>", "text/html")
                    return
                self._answer(200, pbx.files[name], "audio/wav")

            def _zadarma(self, method: str, query: str) -> None:
                signed = method + query + hashlib.md5(query.encode()).hexdigest()  # noqa: S324
                digest = hmac.new(pbx.secret.encode(), signed.encode(), hashlib.sha1).hexdigest()
                sign = base64.b64encode(digest.encode()).decode()
                if self.headers.get("Authorization") != f"{pbx.api_key}:{sign}":
                    answer = {"status": "error", "message": "Not authorized"}
                    self._answer(401, json.dumps(answer).encode(), "application/json")
                    return
                asked = dict(urllib.parse.parse_qsl(query))
                name = pbx.recordings.get(asked.get("call_id", ""))
                if name is None:
                    answer = {"status": "error", "message": "Record not found"}
                else:
                    answer = {"status": "success", "link": f"{pbx.url}/files/{name}"}
                self._answer(200, json.dumps(answer).encode(), "application/json")

            def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = f"{self.url}/vpbx/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keep(self, recording_id: str, content: bytes, name: str = "") -> str:
        """The PBX holds a recording; its file's address."""
        name = name or f"{recording_id}.wav"
        self.files[name], self.recordings[recording_id] = content, name
        return f"{self.url}/files/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
