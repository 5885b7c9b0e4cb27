"""A real Celery worker with beat, on Redis in CI (on the SQLite broker without REDIS_URL):
alerts go out end to end, survive a killed worker and a broker that was down."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from crm import celery_app
from crm.deadlines.models import Deadline
from crm.deadlines.sweep import sweep as sla_sweep
from crm.notifications.models import Delivery, DeliveryAttempt, Notification
from leads.models import Lead, LeadSource
from tests.factories import make_lead
from tests.webhook import WebhookReceiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, as the worker process must see it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, tmp_path: Path, queue: str) -> None:
        self.tmp_path, self.queue, self.process = tmp_path, queue, None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": self.queue,
            "SLA_SWEEP_SECONDS": "1",
            "DELIVERY_LEASE_SECONDS": "3",
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "-B",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-s",
            str(self.tmp_path / f"beat-{uuid.uuid4().hex}"),
        ]
        log = (self.tmp_path / "worker.log").open("a")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(tmp_path) -> Iterator[Worker]:
    worker = Worker(tmp_path, f"test-{uuid.uuid4().hex[:8]}")
    yield worker
    worker.stop()
    print((tmp_path / "worker.log").read_text() if (tmp_path / "worker.log").exists() else "")


def wait_for(condition: Callable[[], bool], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_a_real_worker_delivers_a_breach_alert_end_to_end(world, worker):
    with WebhookReceiver() as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        lead = make_lead(world.team, now=timezone.now() - timedelta(hours=1))
        worker.start()
        wait_for(lambda: any(body["kind"] == "lead_breach" for body in receiver.bodies))
        breach = Notification.objects.get(kind="lead_breach")
        assert breach.recipient == world.head
        assert f"deadline-{lead.deadlines.get(kind='breach').pk}" in receiver.keys
        wait_for(lambda: Delivery.objects.filter(notification=breach, status="sent").exists())
        assert lead.deadlines.filter(raised_at=None).count() == 0


def test_a_worker_killed_while_delivering_delivers_after_restart_once(world, worker):
    with WebhookReceiver(delay=6) as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.manager = world.head
        world.team.save()
        world.team.members.remove(world.teammate)  # one warning, one breach: two deliveries
        make_lead(world.team, now=timezone.now() - timedelta(hours=1))
        worker.start()
        wait_for(lambda: len(receiver.keys) >= 1)  # a post is in flight
        worker.kill()
        in_flight = receiver.keys[0]
        assert not Delivery.objects.filter(status="sent").exists()
        receiver.delay = 0
        worker.start()
        wait_for(lambda: Delivery.objects.filter(status="pending").count() == 0)
        assert Delivery.objects.filter(status="sent").count() == 2
        assert receiver.unique_keys == {f"deadline-{d.pk}" for d in Deadline.objects.all()}
        assert receiver.keys.count(in_flight) == 2  # sent again; the receiver drops the repeat
        assert DeliveryAttempt.objects.filter(ok=True).count() == 2


def forget_broker_connections() -> None:
    """Celery keeps the pool of the broker it talked to first: after the broker address changes,
    later tests (in any order) would still talk to the old one. The pools themselves stay open
    in kombu's registry (keyed by address), so a later test gets the live one back."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_with_the_broker_down_intake_stores_the_lead_and_the_alert_goes_out_later(world, worker):
    source = LeadSource.objects.get()
    source.team = world.team
    source.save()
    with WebhookReceiver() as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        broker = celery_app.conf.broker_url
        celery_app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens there
        forget_broker_connections()
        try:
            response = APIClient().post(
                "/api/v1/intake/",
                {"phone": "+79161234567"},
                format="json",
                HTTP_X_INTAKE_KEY=source.intake_key,
            )
            assert response.status_code == 201
            lead = Lead.objects.get()
            lead.deadlines.update(due_at=timezone.now())  # twenty minutes pass
            assert sla_sweep() == 2  # raised in the database; the deliveries cannot be queued
            assert Delivery.objects.filter(status="pending").count() == 2  # a post per alert
        finally:
            celery_app.conf.broker_url = broker
            forget_broker_connections()
        worker.start()  # the broker is back: the retry sweep sends what waited
        wait_for(lambda: not Delivery.objects.filter(status="pending").exists())
        assert len(receiver.unique_keys) == 2


def test_a_real_worker_writes_an_export_job_end_to_end(world, worker, tmp_path, settings):
    from django.test import Client

    from leads.models import ExportJob
    from leads.tasks import run_export

    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    make_lead(world.team, name="Иван Петров", phone="+79161234567")
    make_lead(world.other_team, name="Чужой Лид", phone="+79161234568")
    job = ExportJob.objects.create(
        requested_by=world.qualifier, language="ru", time_zone="Europe/Moscow"
    )
    os.environ["MEDIA_ROOT"] = str(media)  # the worker writes where this process reads
    try:
        worker.start()
    finally:
        del os.environ["MEDIA_ROOT"]
    run_export.apply_async((job.pk,), queue=worker.queue)
    wait_for(lambda: ExportJob.objects.get(pk=job.pk).state in ("done", "failed"))
    job.refresh_from_db()
    assert job.state == "done", job.error
    assert job.rows_done == job.rows_total == 1
    client = Client()
    client.force_login(world.qualifier)
    response = client.get(f"/leads/exports/{job.pk}/download/")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = text.splitlines()
    assert header.startswith("ID;ФИО;Телефон")
    assert "Иван Петров;+7 916 123-45-67" in row and "Чужой" not in text


def test_a_real_worker_fetches_a_calls_recording_from_the_pbx(world, worker, tmp_path, settings):
    from telephony import services as telephony
    from telephony.events import CallEvent, Kind
    from telephony.models import Call, PbxConnection, recordings_storage
    from telephony.tasks import fetch_recording
    from tests.telephony.fake_pbx import RecordingPbx, make_wav

    media = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media / "recordings"},
        },
    }
    pbx = RecordingPbx("key-1", "salt-1")
    try:
        wav = make_wav(1.0)
        pbx.keep("rec-1", wav)
        connection = PbxConnection.objects.create(
            team=world.team,
            provider="mango",
            api_key="key-1",
            api_secret="salt-1",
            api_url=pbx.api_url,
        )
        event = CallEvent(
            call_id="E1", kind=Kind.RECORDING, at=timezone.now(), recording_id="rec-1"
        )
        call = telephony.record_event(connection, event)
        os.environ["MEDIA_ROOT"] = str(media)  # the worker keeps it where this process reads
        try:
            worker.start()
        finally:
            del os.environ["MEDIA_ROOT"]
        fetch_recording.apply_async((call.pk,), queue=worker.queue)
        wait_for(lambda: Call.objects.get(pk=call.pk).recording != "")
        with recordings_storage().open(Call.objects.get(pk=call.pk).recording) as file:
            assert file.read() == wav
    finally:
        pbx.close()
