"""The production shape (gunicorn, worker, beat) on the test database, for fault tests: as
separate processes (`shape`), or as bin/serve runs them under supervisord (`served`).

They need PostgreSQL and Redis (CI sets DATABASE_URL and REDIS_URL) and restart the machine's
own services, so they run last and always bring the services back."""

import json
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


class Http:
    url: str

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def get_json(self, path: str) -> dict:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            return json.load(error)

    def post_json(self, path: str, body: bytes, headers: dict) -> int:
        return self.post(path, body, {"Content-Type": "application/json", **headers})

    def post(self, path: str, body: bytes, headers: dict) -> int:
        request = urllib.request.Request(self.url + path, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0


class Shape(Http):
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


class Served(Http):
    """bin/serve itself: supervisord running web, worker and beat from deploy/supervisord.conf,
    on the test database, each program's log in its own file."""

    PROGRAMS = ("web", "worker", "beat")

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp_path = tmp_path
        self.log_dir = tmp_path / "log"
        self.output = tmp_path / "serve.out"  # bin/serve's own, and supervisord's lines
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
            "SLA_SWEEP_SECONDS": "1",
            "DELIVERY_LEASE_SECONDS": "3",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_WORKERS": "2",
            "WORKER_CONCURRENCY": "2",
            "LOG_DIR": str(self.log_dir),
            "RUN_DIR": str(tmp_path / "run"),
            "BEAT_SCHEDULE": str(tmp_path / "beat-schedule"),
            **env,
        }

    def start(self) -> None:
        with self.output.open("a") as output:
            self.process = subprocess.Popen(
                [str(ROOT / "bin" / "serve")],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Up when /healthz says so: the web answers, beat ticked, a worker beat, a sweep ran.
        wait_for(lambda: self.get("/healthz") == 200, 120)

    def ctl(self, *args: str) -> str:
        return subprocess.run(
            [str(ROOT / "bin" / "serve"), "ctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def running(self) -> dict[str, int]:
        """The pid of each program supervisord reports RUNNING."""
        pids = {}
        for line in self.ctl("status").splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[1] == "RUNNING":
                pids[fields[0]] = int(fields[3].rstrip(","))
        return pids

    def kill(self, name: str) -> int:
        pid = self.running()[name]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # supervisord stops every program first
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def logs(self) -> dict[str, str]:
        """Every log output: each program's file, supervisord's, and bin/serve's own."""
        files = [*sorted(self.log_dir.glob("*.log*")), self.output]
        return {path.name: path.read_text(errors="replace") for path in files if path.exists()}


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting")


@pytest.fixture(scope="session")
def collected_static() -> None:
    """As bin/serve does: production serves collected, hashed files. Once per run (whitenoise
    compresses every file each time); bin/serve then finds them up to date."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, check=True
    )


@pytest.fixture
def shape(tmp_path, collected_static) -> Iterator[Shape]:
    running = Shape(tmp_path)
    yield running
    running.stop()
    print((tmp_path / "shape.log").read_text()[-5000:])


@pytest.fixture
def served(tmp_path, collected_static) -> Iterator[Served]:
    running = Served(tmp_path)
    yield running
    running.stop()
    for name, text in running.logs().items():
        print(f"== {name}\n{text[-3000:]}")
