"""The production shape (gunicorn, worker, beat) on the test database, for fault tests.

They need PostgreSQL and Redis (CI sets DATABASE_URL and REDIS_URL) and restart the machine's
own services, so they run last and always bring the services back."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    faults = [i for i in items if HERE in i.path.parents]
    for item in faults:
        item.add_marker(pytest.mark.faults)
        item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
        if not (
            os.environ.get("DATABASE_URL", "").startswith("postgres")
            and os.environ.get("REDIS_URL")
        ):
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
            )
    # Last: they restart services the rest of the suite uses.
    items[:] = [i for i in items if i not in faults] + faults


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Shape:
    """gunicorn, a worker and beat as separate processes, each stoppable on its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp_path / "shape.log").open("a")
        self.tmp_path = tmp_path
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
            "SLA_SWEEP_SECONDS": "1",
            "DELIVERY_LEASE_SECONDS": "3",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_WORKERS": "2",
        }
        bin_ = Path(sys.executable).parent
        self.commands = {
            "web": [str(bin_ / "gunicorn"), "crm.wsgi", "--config", "gunicorn.conf.py"],
            "worker": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "--pool=solo",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            "beat": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "beat",
                "-s",
                str(tmp_path / f"beat-{uuid.uuid4().hex}"),
            ],
        }

    def start(self, *names: str) -> None:
        if "web" in names:  # as bin/serve does: production serves collected, hashed files
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
                cwd=ROOT,
                env=self.env,
                check=True,
            )
        for name in names:
            self.processes[name] = subprocess.Popen(
                self.commands[name],
                cwd=ROOT,
                env=self.env,
                stdout=self.log,
                stderr=self.log,
                start_new_session=True,
            )
        if "web" in names:
            wait_for(lambda: self.get("/accounts/login/") == 200, 60)

    def stop(self, *names: str) -> None:
        for name in names or list(self.processes):
            process = self.processes.pop(name, None)
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def post_json(self, path: str, body: bytes, headers: dict) -> int:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting")


@pytest.fixture
def shape(tmp_path) -> Iterator[Shape]:
    running = Shape(tmp_path)
    yield running
    running.stop()
    print((tmp_path / "shape.log").read_text()[-5000:])
