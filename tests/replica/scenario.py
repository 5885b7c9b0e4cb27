"""The app against a real primary and its streaming replica (test_real_replica.py starts both and
runs this as `python -m tests.replica.scenario` with DATABASE_URL and REPLICA_DATABASE_URL set,
REPLICA_MAX_LAG_SECONDS=2, and in REPLICA_STOP the command that stops the replica).

Every query the replica's connection runs is recorded from the first to the last step; each step
records both connections' queries. Fails on the first assertion; prints each step it passed."""

import json
import logging
import os
import subprocess
import time
from contextlib import contextmanager

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_test_environment,
)

from crm import replica  # noqa: E402
from crm.teams.models import Role, Team  # noqa: E402
from leads.models import Lead  # noqa: E402
from tests.factories import SourceFactory, TeamFactory, UserFactory, make_lead  # noqa: E402

WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "TRUNCATE")
REPORTS = {
    "team report page": "/reports/?format=csv",
    "team report API": "/api/v1/reports/teams/?format=csv",
    "person report": None,  # filled in once the person exists
    "leaderboard": "/reports/leaderboard/",
    "insights": "/reports/insights/",
    "leads export": "/leads/export.csv",
}


class Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def sql(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def reads_leads(statements: list[str]) -> bool:
    return any('"leads_lead"' in s for s in statements)


# Every statement the replica ran in the steps below, to check none of them wrote.
ON_REPLICA: list[str] = []


@contextmanager
def both():
    """Both connections' statements. The logs are emptied first: every request empties them
    as it starts (request_started), which would otherwise cut its first statements off."""
    reset_queries()
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as standby,
    ):
        yield primary, standby
    ON_REPLICA.extend(sql(standby))


def get(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def health(client: Client) -> dict:
    """/healthz's answer: 503 here (no beat, no worker), which the replica never decides."""
    return client.get("/healthz").json()


def replica_sql(query: str) -> None:
    with connections["replica"].cursor() as cursor:
        cursor.execute(query)


def wait_until_current(timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = replica.probe()
        if state.usable and state.lag_s == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"the replica did not catch up: {replica.probe()}")


def main() -> None:
    setup_test_environment()
    override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    warnings = Warnings()
    logging.getLogger("crm.replica").addHandler(warnings)

    call_command("migrate", verbosity=0)
    head = UserFactory(username="head", role=Role.SALES_HEAD)
    team = TeamFactory(name="Call centre", manager=head)
    qualifier = UserFactory(username="qualifier", role=Role.QUALIFIER)
    team.members.add(qualifier)
    TeamFactory(name="Showroom", kind=Team.Kind.SALES, manager=head)
    SourceFactory()
    make_lead(team, name="Первый")
    REPORTS["person report"] = f"/reports/people/{qualifier.pk}/"
    client = Client()
    client.force_login(head)
    wait_until_current()

    # 1. Every report reads the replica; what the request needs first (its session, its
    # user) and every write stay on the primary.
    for name, url in REPORTS.items():
        with both() as (primary, standby):
            get(client, url)
        assert reads_leads(sql(standby)) or "leaderboard" in name, name
        assert sql(standby), name
        assert not reads_leads(sql(primary)), (name, sql(primary))
        assert any('"django_session"' in s for s in sql(primary)), name
        print(f"ok: {name} reads the replica ({len(sql(standby))} queries)")

    # 2. Writes go to the primary even inside the scope; reads outside it too, so a page
    # reads what its user has just saved.
    with both() as (primary, standby), replica.reading_replica():
        lead = make_lead(team, name="Второй")
    assert any(s.startswith('INSERT INTO "leads_lead"') for s in sql(primary)), sql(primary)
    assert not any(s.lstrip().upper().startswith(WRITES) for s in sql(standby)), sql(standby)
    with both() as (primary, standby):
        assert Lead.objects.filter(pk=lead.pk).exists()
    assert reads_leads(sql(primary)) and not sql(standby)
    print("ok: writes and ordinary reads stay on the primary")

    body = health(client)["replica"]
    assert body["ok"] and body["reads"] == "replica" and body["lag_s"] <= 2, body
    print(f"ok: /healthz shows the replica {body}")

    # 3. A replica that lags beyond REPLICA_MAX_LAG_SECONDS: reports read the primary, and
    # see what the replica has not replayed yet.
    wait_until_current()
    replica_sql("SELECT pg_wal_replay_pause()")
    make_lead(team, name="Третий")
    time.sleep(2.5)
    replica.forget()
    with both() as (primary, standby):
        csv = get(client, REPORTS["leads export"]).decode()
        get(client, REPORTS["team report page"])
    assert "Третий" in csv, csv  # from the primary: the replica has not replayed it
    assert not Lead.objects.using("replica").filter(name="Третий").exists()
    assert reads_leads(sql(primary)) and not reads_leads(sql(standby)), sql(standby)
    body = health(client)["replica"]
    assert not body["ok"] and body["reads"] == "primary" and "over 2 s" in body["error"], body
    assert sum("not usable" in m for m in warnings.messages) == 1, warnings.messages
    print(f"ok: a lagging replica is left alone {body}")

    replica_sql("SELECT pg_wal_replay_resume()")
    wait_until_current()
    with both() as (primary, standby):
        assert "Третий" in get(client, REPORTS["leads export"]).decode()
    assert reads_leads(sql(standby)) and not reads_leads(sql(primary))
    print("ok: caught up, the replica is read again")

    writes = [s for s in ON_REPLICA if s.lstrip().upper().startswith(WRITES)]
    assert ON_REPLICA and not writes, writes
    print(f"ok: none of the replica's {len(ON_REPLICA)} statements wrote")

    # 4. The replica stops while this process still holds "usable": the report that finds it
    # down is answered from the primary, and so is every one after it.
    replica.probe()
    replica.PROBE_SECONDS = 3600.0
    replica._warned_at = float("-inf")
    subprocess.run(json.loads(os.environ["REPLICA_STOP"]), check=True, capture_output=True, cwd="/")
    for name, url in REPORTS.items():
        replica._state = replica.State(True, time.monotonic(), 0.0)  # as it was before the stop
        reset_queries()
        with CaptureQueriesContext(connections["default"]) as primary:
            get(client, url)
        assert reads_leads(sql(primary)) or "leaderboard" in name, name
        assert not replica.current().usable, name
        print(f"ok: replica down, {name} answers from the primary")
    body = health(client)
    assert body["replica"]["ok"] is False and "unreachable" in body["replica"]["error"], body
    assert body["database"]["ok"], body
    assert sum("not usable" in m for m in warnings.messages) == 2, warnings.messages
    print(f"ok: /healthz says so {body['replica']}; warnings: {warnings.messages}")


if __name__ == "__main__":
    main()
