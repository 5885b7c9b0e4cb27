"""bench/export_bench.py end to end at 2,000 leads: the seeding, the export job run in a child
process as the worker runs it, and its figures; then --existing on the database it left,
which writes nothing there but the job and removes that after. PostgreSQL only: the script
builds its own database next to the test database and the test drops it."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from bench import harness
from bench.scale_bench import database_url

ROOT = Path(__file__).resolve().parent.parent.parent
URL = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not URL.startswith(("postgres://", "postgresql://")),
    reason="the benchmark builds a PostgreSQL database",
)


def run(url: str, *args: str) -> str:
    command = [sys.executable, str(ROOT / "bench" / "export_bench.py"), "--no-wait", *args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
        env={**os.environ, "DATABASE_URL": url},
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done.stdout


def test_exports_a_seeded_database_then_an_existing_one_leaving_it_as_it_was():
    name, params = harness.server_params(URL)
    built = database_url(URL, f"test_{name}_export_2k")
    try:
        out = run(built, "--sizes", "2000", "--keep")
        assert "2,000 rows in" in out and "peak RSS" in out
        assert "target 50,000 rows/s:" in out and "load average now:" in out

        out = run(built, "--existing")
        assert "== 2,000 leads in the head's queue (existing database)" in out
        assert "2,000 rows in" in out
        connection = psycopg2.connect(dbname=f"test_{name}_export_2k", **params)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM leads_exportjob")
                jobs = cursor.fetchone()[0]
        finally:
            connection.close()
        assert jobs == 1  # the seeding run's job; --existing removed its own
    finally:
        harness.drop_database(built)
