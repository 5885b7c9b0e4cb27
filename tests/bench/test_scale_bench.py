"""bench/scale_bench.py end to end at 2,000 leads: the build (set-based leads, contact points,
deadlines, roll-ups), the report data (--report-data: deals, handoffs, answers, calls, events
and every roll-up) and every measurement run and print their table; then
bench/sweep_scale_bench.py on the same database. PostgreSQL only: the
script builds its own database next to the test database and drops it after."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import harness

ROOT = Path(__file__).resolve().parent.parent.parent
URL = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not URL.startswith(("postgres://", "postgresql://")),
    reason="the benchmark builds a PostgreSQL database",
)


def test_builds_and_measures_a_small_database(tmp_path):
    name, _params = harness.server_params(URL)
    prefix = f"test_{name}_scale_"
    built = scale_bench_url(URL, f"{prefix}2k")
    command = [
        sys.executable,
        str(ROOT / "bench" / "scale_bench.py"),
        *("--sizes", "2000", "--db-prefix", prefix, "--results", str(tmp_path)),
        *("--requests", "3", "--warmup", "1", "--report-requests", "1"),
        *("--intake-posts", "5", "--sweeps", "1", "--due", "20"),
        *("--report-data", "--call-report"),
    ]
    try:
        out = run(command, timeout=300)
        assert "building 2,000 leads from 0" in out
        for row in (
            "queue page",
            "Take next",
            "intake",
            "SLA sweep",
            "whole phone",
            "whole e-mail",
            "name and surname",
            "head of all 11",
            "team report, last 30 days (all 11)",
            "team report API JSON",
            "team report page CSV",
            "leaderboard, quarter",
            "leaderboard, last 30 days",
            "person report, quarter (qualifier)",
            "person report, quarter (closer)",
            "insights, quarter",
            "insights, last 30 days",
            "call report",
        ):
            assert row in out.split("Server time in ms")[1], row
        # the report data step: every table report_bench.py seeds, then the roll-ups
        step = out.split("report data: leads 0 ..")[1]
        for what in ("deals", "handoffs", "answers", "calls", "transition events"):
            rows = re.search(rf"{what} ([\d,]+) ", step.split("\n")[1])
            assert rows and int(rows[1].replace(",", "")) > 0, what
        assert "person roll-ups:" in step and "insight roll-ups:" in step
        assert "leads today (read live)" in out
        assert "uptime at the start:" in out and "load average" in out
        assert (tmp_path / f"{prefix}2k.json").exists()
        # read-only: what the reports compute live for today, timed and explained
        out = run([*command, "--explain-today"], timeout=120)
        for part in ("team report, 10 qualification", "person, ", "insights, ", "EXPLAIN"):
            assert part in out, part
        # the sweep alone: random leads, the newest, random again with the leads prewarmed
        out = run([sys.executable, str(ROOT / "bench" / "sweep_scale_bench.py"), *command[2:]])
        assert "prewarmed leads_lead_pkey" in out
        assert "leads prewarmed" in out
    finally:
        harness.drop_database(built)


def run(command: list[str], timeout: int = 120) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done.stdout


def scale_bench_url(url: str, name: str) -> str:
    from bench.scale_bench import database_url

    return database_url(url, name)
