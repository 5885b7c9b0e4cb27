"""No process's log carries the intake key, a customer's phone, e-mail or name: the intake is
driven through bin/serve (supervisord: gunicorn, worker, beat) with the key in the URL, as
Tilda sends it, through 2xx, 4xx, 429 and 5xx answers and a malformed request, an e-mail goes
out from the worker, then every log output of every process is searched. The access log's
fields come from gunicorn's atoms through the JSON library: a crafted path forges none."""

import json
import os
import socket
import subprocess
import uuid

import redis
from django.utils import timezone

from crm.notifications.models import Delivery
from leads.models import Lead, LeadSource
from tests.faults.conftest import ROOT, Http, free_port, wait_for

PHONE_FORMS = [
    "+79163170542",
    "79163170542",
    "9163170542",
    "89163170542",
    "8 916 317-05-42",
    "8 (916) 317-05-42",
    "916 317-05-42",
    "317-05-42",
]
EMAIL = "ivan.sekretov@example.net"
STAFF_EMAIL = "head.of.sales@example.org"  # the manager, to whom the breach is e-mailed
NAME = "Sekretov"
CYRILLIC_NAME = "Секретов"
# "status" forged inside the path: with quotes and a comma, and after a newline
CRAFTED = {
    '/crafted","status":200,"forged":"yes/': "/crafted%22,%22status%22:200,%22forged%22:%22yes/",
    '/crafted\n{"status":200}': "/crafted%0A%7B%22status%22:200%7D",
    '/crafted\\"},"status":200': "/crafted%5C%22%7D,%22status%22:200",
}


def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(200)


def test_no_log_of_any_process_carries_the_key_a_phone_an_e_mail_or_a_name(world, served, tmp_path):
    source = LeadSource.objects.get()
    source.team = world.team
    source.rate_limit_per_minute = 6
    source.save()
    world.head.email = STAFF_EMAIL
    world.head.save()
    key = source.intake_key
    # This minute's count for the source (its id comes back in every test) starts from zero.
    counts = redis.Redis.from_url(os.environ["REDIS_URL"])
    for bucket in counts.scan_iter(f"ratelimit:intake:{source.pk}:*"):
        counts.delete(bucket)
    served.start()
    intake = f"/api/v1/intake/?key={key}"
    wrong_key = key[:-1] + ("y" if key.endswith("x") else "x")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses = []

    # 2xx: JSON, then a form the way Tilda posts it ("8 (916) …", %40 in the address)
    body = {"name": f"Ivan {NAME} {CYRILLIC_NAME}", "phone": PHONE_FORMS[0], "email": EMAIL}
    statuses.append(
        served.post_json(intake, json.dumps({**body, "external_id": "logs-1"}).encode(), {})
    )
    statuses.append(
        served.post(
            intake + "&phone=8+(916)+317-05-42&email=ivan.sekretov%40example.net",
            f"name=Ivan+{NAME}&phone=8+(916)+317-05-42&email=ivan.sekretov%40example.net".encode(),
            form,
        )
    )
    # 4xx: a broken body full of personal data; a bad field; a key one character off
    broken = f'{{"phone": "8 916 317-05-42", "email": "{EMAIL}", "name": "{NAME}"'
    statuses.append(served.post_json(intake, broken.encode(), {}))
    statuses.append(
        served.post_json(
            intake, json.dumps({"phone": "9163170542999999", "email": EMAIL + "@"}).encode(), {}
        )
    )
    statuses.append(served.post_json(intake.replace(key, wrong_key), json.dumps(body).encode(), {}))
    # a request gunicorn itself refuses, its request line carrying the key and the phone
    raw_request(
        served.port,
        f"POST {intake}&phone=%2B79163170542&email=ivan.sekretov%40example.net HTTP/9.9\r\n"
        "Host: 127.0.0.1\r\n\r\n".encode(),
    )
    # 429: the source allows six posts a minute from one address
    for _ in range(15):
        statuses.append(served.post_json(intake, json.dumps(body).encode(), {}))
        if statuses[-1] == 429:
            break
    assert statuses[:5] == [201, 201, 400, 400, 403]
    assert statuses[-1] == 429
    # paths that would forge the access log's fields if it were written by hand; a path with
    # an e-mail in it
    for quoted in CRAFTED.values():
        assert served.get(quoted) == 404
    assert served.get(f"/leads/{EMAIL}/") == 404

    # 5xx: a second gunicorn whose database does not exist answers 500 to the same post
    broken_port = free_port()
    broken_log = tmp_path / "broken-web.log"
    missing_db = served.env["DATABASE_URL"].rsplit("/", 1)[0] + f"/missing_{uuid.uuid4().hex[:8]}"
    with broken_log.open("w") as output:
        broken_web = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "crm.wsgi", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env={
                **served.env,
                "DATABASE_URL": missing_db,
                "GUNICORN_BIND": f"127.0.0.1:{broken_port}",
                "WEB_WORKERS": "1",
            },
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        broken = Http()
        broken.url = f"http://127.0.0.1:{broken_port}"
        wait_for(lambda: broken.get("/accounts/login/") != 0, 60)
        assert broken.post_json(intake, json.dumps(body).encode(), {}) == 500
    finally:
        broken_web.terminate()
        broken_web.wait(30)

    # an e-mail from the worker: the first lead's breach, to the manager
    Lead.objects.get(source=source, external_id="logs-1").deadlines.update(due_at=timezone.now())
    wait_for(lambda: Delivery.objects.filter(channel="email", status="sent").exists(), 30)
    served.stop()  # every process flushed and gone

    logs = {**served.logs(), broken_log.name: broken_log.read_text()}
    secrets = [
        key,
        key[:-1],
        *PHONE_FORMS,
        EMAIL,
        "ivan.sekretov",
        STAFF_EMAIL,
        NAME,
        CYRILLIC_NAME,
    ]
    for name, text in logs.items():
        decoded = "\n".join(_decoded(line) for line in text.splitlines())
        for secret in secrets:
            assert secret not in text and secret not in decoded, f"{secret!r} in {name}"

    records = {name: _records(name, text) for name, text in logs.items() if name != "serve.out"}
    web = records["web.log"]
    access = [r for r in web if r["logger"] == "gunicorn.access"]
    intake_statuses = {r["status"] for r in access if r["path"] == "/api/v1/intake/"}
    assert {201, 400, 403, 429} <= intake_statuses  # the answers were logged, without the key
    requests = {r["request"] for r in web if r["logger"] == "django.request"}
    assert {
        "POST /api/v1/intake/",
        "GET /leads/[email]/",
        *(f"GET {p}" for p in CRAFTED),
    } <= requests
    assert not any("?" in request for request in requests)  # never the query string
    assert any("Invalid request" in r["message"] for r in web)
    for path in CRAFTED:  # each crafted path is its own string, and its line says 404
        (line,) = [r for r in access if r["path"] == path]
        assert line["status"] == 404 and "forged" not in line
    assert all(
        set(r) >= {"time", "level", "logger", "message"} for rs in records.values() for r in rs
    )
    assert all(r["time"].endswith("+00:00") for rs in records.values() for r in rs)
    broken_records = records[broken_log.name]
    assert any(r.get("status") == 500 for r in broken_records)
    assert any(r["logger"] == "django.request" and r.get("exc_info") for r in broken_records)
    assert any(r["logger"] == "crm.email" for r in records["worker.log"])


def _decoded(line: str) -> str:
    try:
        return json.dumps(json.loads(line), ensure_ascii=False)
    except ValueError:
        return line


# Celery prints these itself, as plain lines, at a stop; nothing else is allowed outside JSON.
PLAIN_NOTICES = ("worker: Warm shutdown (MainProcess)",)


def _records(name: str, text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        if not line.strip() or line in PLAIN_NOTICES or name == "supervisord.log":
            continue
        records.append(json.loads(line))  # every other line is one JSON object
    return records
