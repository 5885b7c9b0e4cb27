#!/usr/bin/env python
"""Load on the production shape: 20 qualifiers (locust, headless) working the queue for 60 s
while web forms post 20 leads/s; then zero errors, zero leads claimed twice, and p50/p95 of
each endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_load \\
    REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/load_bench.py [--seconds 60]

It creates the database if missing, migrates, makes a team with 20 qualifiers and a source,
preloads 500 leads, starts bin/serve's processes (gunicorn, worker, beat), runs locust, reads
its CSV, checks the database, and stops everything."""

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import ensure_database, free_port  # noqa: E402 - after the path is set

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--web-workers", type=int, default=4)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    ensure_database(os.environ["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, check=True
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    key = prepare()
    port = free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": str(args.web_workers),
        "CELERY_QUEUE": "bench-load",
        "LOG_LEVEL": "WARNING",
    }
    log = tempfile.NamedTemporaryFile("w", suffix="-load.log", delete=False)  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "crm.wsgi",
                "--config",
                "gunicorn.conf.py",
                "--access-logfile",
                "/dev/null",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "-B",
                "--pool=solo",
                "-s",
                tempfile.mkdtemp() + "/beat-schedule",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        ),
    ]
    try:
        wait_up(f"http://127.0.0.1:{port}/accounts/login/")
        stats = run_locust(port, args.seconds, key)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(30)
    report(stats, args.seconds)


def prepare() -> str:
    """A team of 20 qualifiers, a junk reason (id 1), a web source; 500 leads waiting."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from crm.teams.models import Team
    from leads.models import JunkReason, LeadSource
    from leads.services import lead_create

    with connection.cursor() as cursor:  # a clean slate for each run
        cursor.execute(
            "TRUNCATE leads_lead, leads_leadevent, deadlines_deadline, leads_contactattempt, "
            "notifications_notification, notifications_delivery CASCADE"
        )
    team, _ = Team.objects.get_or_create(name="Load team", defaults={"kind": "qualification"})
    group, _ = Group.objects.get_or_create(name="Qualifier")
    for number in range(1, 21):
        user, _created = User.objects.get_or_create(username=f"loadq{number}")
        user.set_password("bench-pass-123")
        user.save()
        user.groups.add(group)
        team.members.add(user)
    JunkReason.objects.update_or_create(pk=1, defaults={"name": "Load", "slug": "load"})
    source, _ = LeadSource.objects.get_or_create(
        slug="load-web",
        defaults={
            "name": "Load web",
            "channel": "web_form",
            "team": team,
            "rate_limit_per_minute": 10**6,
        },
    )
    for number in range(500):
        lead_create(team=team, source=source, name="Очередь Тест", phone=f"+7926{number:07d}")
    return source.intake_key


def wait_up(url: str) -> None:
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    sys.exit("the web process did not start")


def run_locust(port: int, seconds: int, key: str) -> Path:
    prefix = Path(tempfile.mkdtemp()) / "load"
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            "40",
            "-r",
            "40",
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "BENCH_INTAKE_KEY": key},
        check=False,
    )
    return Path(f"{prefix}_stats.csv")


def report(stats: Path, seconds: int) -> None:
    from django.db.models import Count

    from leads.models import Lead, LeadEvent

    print(f"\nLoad for {seconds} s: 20 qualifiers working the queue, 20 web-form posts/s\n")
    columns = ("requests", "failures", "p50 ms", "p95 ms", "max ms")
    print(f"{'endpoint':<26}" + "".join(f"{c:>9}" for c in columns) + f"{'req/s':>8}")
    failures = 0
    with stats.open() as f:
        for row in csv.DictReader(f):
            name = row["Name"] if row["Name"] != "Aggregated" else "all"
            failures += int(row["Failure Count"]) if name != "all" else 0
            print(
                f"{name:<26}{row['Request Count']:>9}{row['Failure Count']:>9}{row['50%']:>9}"
                f"{row['95%']:>9}{float(row['Max Response Time']):>9.0f}"
                f"{float(row['Requests/s']):>8.1f}"
            )
    twice = (
        LeadEvent.objects.filter(kind="claimed")
        .values("lead")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    intake = Lead.objects.filter(source__slug="load-web", external_id__startswith="load-").count()
    print(f"\nerrors: {failures}; leads claimed twice: {twice}; leads stored by intake: {intake}")


if __name__ == "__main__":
    main()
