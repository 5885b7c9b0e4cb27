"""A local webhook receiver for tests: the edge of the world, so a real HTTP server."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    """Records each POST's Idempotency-Key and body. It can answer 500 to the first n posts,
    or hold each answer for `delay` seconds (to kill a worker mid-send)."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        self.keys: list[str] = []
        self.bodies: list[dict] = []
        self.fail_first = fail_first
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                receiver.bodies.append(json.loads(body or b"{}"))
                time.sleep(receiver.delay)
                failing = len(receiver.keys) <= receiver.fail_first
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    @property
    def unique_keys(self) -> set[str]:
        return set(self.keys)

    def __enter__(self) -> "WebhookReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
