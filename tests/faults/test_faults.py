"""Faults, each a test, on the production shape: a beat stopped and started, Redis restarted,
PostgreSQL restarted under the web process. (A worker killed mid-delivery: tests/worker.)"""

import json
import subprocess
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from crm.notifications.models import Delivery, Notification
from leads.models import Lead, LeadSource
from tests.factories import make_lead
from tests.faults.conftest import wait_for
from tests.webhook import WebhookReceiver

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def redis_up() -> bool:
    return (
        subprocess.run(
            ["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True
        ).stdout.strip()
        == "PONG"
    )


def test_a_beat_stopped_for_ten_minutes_then_started_sends_every_missed_alert_once(world, shape):
    with WebhookReceiver() as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        shape.start("worker")  # beat is down
        for index in range(5):  # arrived 25 minutes ago: warned and breached while beat was down
            make_lead(
                world.team,
                phone=f"+7916555100{index}",
                now=timezone.now() - timedelta(minutes=25, seconds=index),
            )
        assert not Notification.objects.exists()
        shape.start("beat")
        expected = 5 * 2  # a warning and a breach per lead: one webhook post per alert
        told = 5 * 2 + 5  # the warning tells both qualifiers, the breach the manager
        wait_for(lambda: len(receiver.keys) >= expected)
        wait_for(lambda: not Delivery.objects.filter(status="pending").exists())
        shape.stop("beat")
        shape.start("beat")  # a second beat run raises nothing again
        wait_for(lambda: Delivery.objects.filter(status="sent").count() == expected)
        assert len(receiver.keys) == len(receiver.unique_keys) == expected
        assert Notification.objects.count() == told


def test_redis_restarted_intake_keeps_answering_and_alerts_catch_up(world, shape):
    source = LeadSource.objects.get()
    source.team = world.team
    source.save()
    with WebhookReceiver() as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        shape.start("web", "worker", "beat")
        subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)
        try:
            wait_for(lambda: not redis_up(), 10)
            codes = [
                shape.post_json(
                    "/api/v1/intake/",
                    json.dumps({"phone": f"+7916555200{i}"}).encode(),
                    {"X-Intake-Key": source.intake_key},
                )
                for i in range(3)
            ]
            assert codes == [201, 201, 201]
        finally:
            subprocess.run(REDIS_START, check=True)
            wait_for(redis_up, 20)
        Lead.objects.filter(source=source).update()  # nothing lost: all three are stored
        assert Lead.objects.filter(source=source).count() == 3
        for lead in Lead.objects.filter(source=source):
            lead.deadlines.update(due_at=timezone.now())  # twenty minutes pass
        wait_for(lambda: len(receiver.unique_keys) >= 3 * 2, 90)  # a warning + a breach each
        assert len(receiver.keys) == len(receiver.unique_keys)


def test_postgres_restarted_under_the_web_recovers_without_a_restart(world, shape):
    shape.start("web")
    assert shape.get("/accounts/login/") == 200
    version = next(Path("/etc/postgresql").iterdir()).name
    connection.close()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
    )
    wait_for(lambda: shape.get("/accounts/login/") == 200, 60)
    statuses = [shape.get("/healthz") for _ in range(5)]
    assert statuses.count(0) == 0  # the web process answered throughout
    wait_for(lambda: shape.get("/accounts/login/") == 200)
    assert shape.processes["web"].poll() is None  # the same gunicorn, not restarted
