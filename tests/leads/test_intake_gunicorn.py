"""A chunked intake post (Transfer-Encoding: chunked, no Content-Length) through a real
gunicorn: Django alone reads such a body as empty; gunicorn marks the stream as ending by
itself (wsgi.input_terminated) and the intake reads it, up to its limit.

The gunicorn process needs the test database committed and reachable, so this runs on
PostgreSQL only (CI's database); tests/leads/test_intake.py covers the same WSGI path on both."""

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from leads.models import Lead, LeadSource
from tests.faults.conftest import database_url, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    # serialized_rollback: the flush after a transactional test would take the role groups
    # (a data migration) away from the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="gunicorn needs the test database in PostgreSQL",
    ),
]


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "1",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "crm.wsgi", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _request(port, "OPTIONS", None, {})[0] == 204, 60)
        yield port
    finally:
        process.terminate()
        process.wait(15)
        print((tmp_path / "gunicorn.log").read_text()[-3000:])


def _request(port: int, method: str, body, headers: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # An iterable body without a Content-Length goes as Transfer-Encoding: chunked.
        connection.request(method, "/api/v1/intake/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        connection.close()


@pytest.fixture
def source(world) -> LeadSource:
    source = LeadSource.objects.get()
    source.team = world.team
    source.save()
    return source


def _chunks(data: bytes, size: int = 7):
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def test_a_chunked_post_through_gunicorn_is_read(gunicorn, source):
    body = json.dumps({"phone": "+79161234567", "name": "Анна Смирнова"}).encode()
    headers = {"Content-Type": "application/json", "X-Intake-Key": source.intake_key}
    status, answer = _request(gunicorn, "POST", _chunks(body), headers)
    assert status == 201, answer
    assert Lead.objects.get().name == "Анна Смирнова"


def test_a_chunked_form_post_through_gunicorn_is_read(gunicorn, source):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Intake-Key": source.intake_key,
    }
    status, answer = _request(gunicorn, "POST", _chunks(b"phone=%2B79161234567&name=Anna"), headers)
    assert status == 201, answer
    assert Lead.objects.get().name == "Anna"


def test_a_chunked_post_over_the_limit_is_413(gunicorn, source):
    filler = "x" * settings.INTAKE_MAX_BODY_BYTES
    body = json.dumps({"phone": "+79161234567", "message": filler}).encode()
    headers = {"Content-Type": "application/json", "X-Intake-Key": source.intake_key}
    status, _answer = _request(gunicorn, "POST", _chunks(body, 8192), headers)
    assert status == 413
    assert not Lead.objects.exists()
