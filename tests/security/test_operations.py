import json
import logging

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from crm.health.services import beat
from crm.lib.logs import RedactPersonalData, redact
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


HEARTBEATS = ("beat", "worker", "sla_sweep")


def test_healthz_reports_the_database_the_broker_beat_the_worker_and_the_sweep(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert response.status_code == 503
    assert [body[name] for name in HEARTBEATS] == [{"ok": False, "error": "never ran"}] * 3
    for name in HEARTBEATS:
        beat(name)
    body = client.get("/healthz").json()
    assert body["ok"] and all(body[name]["age_s"] < 5 for name in HEARTBEATS)


@pytest.mark.parametrize("dead", ["beat", "worker"])
def test_a_dead_worker_is_told_from_a_dead_beat(client, dead):
    from datetime import timedelta

    from django.utils import timezone

    from crm.health.models import Heartbeat

    for name in HEARTBEATS:
        beat(name)
    # Either one dead, sweeps stop: the sweep is old too, and only the dead one is named.
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    Heartbeat.objects.filter(name__in=[dead, "sla_sweep"]).update(at=ten_minutes_ago)
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    alive = "worker" if dead == "beat" else "beat"
    assert (body[dead]["ok"], body[alive]["ok"], body["sla_sweep"]["ok"]) == (False, True, False)


@pytest.mark.parametrize(
    "text",
    [
        "lead +7 916 123-45-67 arrived",
        "call 8 (916) 123-45-67",
        "mail ivan.petrov@example.ru",
        "POST /api/v1/intake/?key=s3cr3t-KEY_value HTTP/1.1",
    ],
)
def test_logs_never_carry_phones_emails_or_keys(text):
    cleaned = redact(text)
    for secret in ("123-45-67", "ivan.petrov@example.ru", "s3cr3t"):
        assert secret not in cleaned


def test_log_lines_are_json_without_personal_data(capsys, world):
    record = logging.LogRecord(
        "crm", logging.WARNING, __file__, 1, "lead %s from %s", ("+79161234567", "a@b.ru"), None
    )
    RedactPersonalData().filter(record)
    assert "79161234567" not in record.getMessage() and "a@b.ru" not in record.getMessage()
    handler = logging.getLogger().handlers[0]
    line = handler.format(record)
    assert json.loads(line)["message"] == "lead [phone] from [email]"


def test_five_wrong_passwords_lock_the_login(world):
    client = Client()
    for _ in range(5):
        client.post(reverse("login"), {"username": "qualifier", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "qualifier", "password": "pw"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_forms_refuse_a_post_without_the_csrf_token(world):
    lead = make_lead(world.team)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.qualifier)
    for url in (
        reverse("leads:attempt", args=[lead.pk]),
        reverse("leads:take_next"),
        reverse("leads:create"),
        reverse("notifications:mark_all_read"),
    ):
        assert client.post(url, {"outcome": "reached"}).status_code == 403
    assert not lead.attempts.exists()


def test_the_admin_is_for_staff_only(client, world):
    client.force_login(world.head)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/leads/lead/").status_code == 302


def test_production_settings_pass_the_deploy_check(monkeypatch, settings):
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE")  # set for the browser tests only
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.SECRET_KEY = "k" * 20 + "-production-secret-from-the-environment-0123456789"
    settings.ALLOWED_HOSTS = ["crm.example.ru"]
    call_command("check", "--deploy", "--fail-level", "WARNING")


def test_tracebacks_in_logs_are_redacted_too():
    try:
        raise ValueError("Key (phone)=(+79161234567) already exists, mail a@b.ru")
    except ValueError:
        import sys

        record = logging.LogRecord("crm", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactPersonalData().filter(record)
    line = logging.getLogger().handlers[0].format(record)
    assert "79161234567" not in line and "a@b.ru" not in line and "ValueError" in line


def test_exports_quote_cells_a_spreadsheet_would_run(client, world):
    make_lead(world.team, name="=1+2 Формула", phone="+79161234567")
    client.force_login(world.qualifier)
    body = b"".join(client.get(reverse("leads:export")).streaming_content).decode("utf-8-sig")
    assert ";'=1+2 Формула;" in body
