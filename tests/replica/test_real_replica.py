"""Reports off the primary, against a real streaming replica: this test makes its own primary
(initdb, wal_level=replica) and a replica of it (pg_basebackup -R) on two free ports, then runs
tests/replica/scenario.py against them in a subprocess — reports and the leads export read the
replica, writes and other reads never do, a lagging or stopped replica leaves reports on the
primary, /healthz says which. Both servers and their directories go whatever happens.

The machine's own PostgreSQL may refuse replication connections, hence a cluster of its own;
as root (CI), the servers run as the `postgres` user, since initdb refuses root."""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")

pytestmark = pytest.mark.replica


def _why_not() -> str | None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return "needs PostgreSQL (DATABASE_URL): the suite runs on SQLite"
    missing = [tool for tool in TOOLS if not (BIN / tool).exists()]
    if missing:
        return f"needs PostgreSQL's {', '.join(missing)} in {BIN} (PG_BINDIR)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "as root, needs a postgres user to run the servers (initdb refuses root)"
        if not shutil.which("runuser"):
            return "as root, needs runuser to run the servers as postgres"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clusters:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.primary, self.replica = base / "primary", base / "replica"
        self.primary_port, self.replica_port = free_port(), free_port()
        self.started: list[Path] = []

    def as_owner(self, *argv: str | Path) -> list[str]:
        command = [str(a) for a in argv]
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def run(self, *argv: str | Path) -> None:
        # In the clusters' directory: the postgres user may not enter the checkout's.
        result = subprocess.run(
            self.as_owner(*argv),
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{argv[0]}: {result.stdout}{result.stderr}"

    def start(self, data: Path) -> None:
        self.started.append(data)
        self.run(BIN / "pg_ctl", "-D", data, "-l", self.base / f"{data.name}.log", "-w", "start")

    def stop_command(self, data: Path) -> list[str]:
        return self.as_owner(BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/crm"

    def up(self) -> None:
        self.run(
            BIN / "initdb",
            "-D",
            self.primary,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        )
        with (self.primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.primary_port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.base}'\n"
                "wal_level = replica\n"
                "max_wal_senders = 4\n"
                # A throwaway cluster: no need to survive a crash.
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        with (self.primary / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self.start(self.primary)
        self.run(
            BIN / "psql",
            "-h",
            "127.0.0.1",
            "-p",
            self.primary_port,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            "CREATE DATABASE crm",
        )
        # -R: the copy starts as a standby streaming from the primary.
        self.run(
            BIN / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            self.primary_port,
            "-U",
            "postgres",
            "-D",
            self.replica,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        with (self.replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.replica_port}\n")
        self.start(self.replica)

    def down(self) -> None:
        for data in reversed(self.started):
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    self.as_owner(BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"),
                    cwd=self.base,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )


@pytest.fixture
def clusters() -> Iterator[Clusters]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="crm-replica-"))
    clusters = Clusters(base)
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        clusters.up()
        yield clusters
    finally:
        clusters.down()
        shutil.rmtree(base, ignore_errors=True)


def test_reports_read_the_replica_and_fall_back_to_the_primary(clusters):
    env = {
        **os.environ,
        "DATABASE_URL": clusters.url(clusters.primary_port),
        "REPLICA_DATABASE_URL": clusters.url(clusters.replica_port),
        "REPLICA_MAX_LAG_SECONDS": "2",
        "REPLICA_STOP": json.dumps(clusters.stop_command(clusters.replica)),
        "CELERY_QUEUE": f"replica-{uuid.uuid4().hex[:8]}",
        "PYTHONWARNINGS": "ignore::UserWarning",  # whitenoise: no collected static files
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.replica.scenario"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    assert "ok: /healthz says so" in result.stdout
