#!/usr/bin/env python
"""Only the SLA sweep of bench/scale_bench.py, at each size it built, with where the time goes:
the same windows and timing (scale_bench.measure_sweep, imported), plus each statement's share
of the SQL (sla_bench.timed_sweep's per-statement split, mean over the timed sweeps); for due
deadlines of random leads and for those of the newest leads.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        nice -n 10 .venv/bin/python bench/sweep_scale_bench.py [--sizes 1000000,10000000]

Each size runs in a child process (Django is set up once per database), on the databases
scale_bench.py built (it stops if one is not built); it migrates nothing and keeps no figures:
the full command (scale_bench.py --measure-only) measures the same thing for the table.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness, scale_bench  # noqa: E402 - after the path is set


def child(args) -> None:
    from bench import sla_bench

    os.environ.setdefault("REDIS_URL", sla_bench.DEFAULT_REDIS)
    os.environ.setdefault("CELERY_QUEUE", sla_bench.TIMING_QUEUE)
    harness.django_setup()
    if not scale_bench.finished_at() or scale_bench.finished_at() != scale_bench.grown_to():
        sys.exit("not built: run bench/scale_bench.py first")
    sla_bench.prepare_world(harness.make_world())
    runs: list[dict] = []
    timed = sla_bench.timed_sweep

    def keep(now) -> dict:  # the runs measure_sweep times, kept for their split
        run = timed(now)
        runs.append(run)
        return run

    sla_bench.timed_sweep = keep
    out: dict = {"size": args.child, "cases": {}, "explain": {}}
    for key, newest, warm in (
        ("sweep", False, False),
        ("sweep_newest", True, False),
        ("sweep_prewarmed", False, True),
    ):
        if warm:
            prewarm_leads()
        runs.clear()
        print(f"  {scale_bench.uptime()}", flush=True)
        scale_bench.measure_sweep(args, out, key, newest)
        timed_runs = runs[1:]  # the first is measure_sweep's warm-up
        print(f"  notifications per sweep: {[r['notifications'] for r in timed_runs]}")
        mean = {
            part: sum(r["parts"].get(part, (0, 0.0))[1] for r in timed_runs) / len(timed_runs)
            for part in {part for r in timed_runs for part in r["parts"]}
        }
        for part, ms in sorted(mean.items(), key=lambda item: -item[1]):
            print(f"    {part:<48} {ms:8.1f} ms")
        explained_sweep(args, newest)


def prewarm_leads() -> None:
    """Read the leads table and its primary key into shared_buffers (the pg_prewarm extension
    of PostgreSQL's contrib, created in this benchmark's database only) and say what it took."""
    import time

    from django.db import connection

    from leads.models import Lead

    table = Lead._meta.db_table
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for relation in (table, f"{table}_pkey"):
            t0 = time.perf_counter()
            cur.execute(
                "SELECT pg_prewarm(%s), pg_size_pretty(pg_relation_size(%s))", [relation] * 2
            )
            blocks, size = cur.fetchone()
            took = time.perf_counter() - t0
            print(f"  prewarmed {relation}: {blocks:,} blocks ({size}) in {took:.1f} s")


def explained_sweep(args, newest: bool) -> None:
    """One more window swept with auto_explain (ANALYZE, BUFFERS, WAL) on the sweep's own
    statements, printed as they ran; then the deferred foreign-key checks and the commit,
    timed apart (they run at COMMIT, outside any statement)."""
    import time
    from datetime import datetime, timedelta

    from django.db import connection, transaction

    from bench import sla_bench
    from crm.deadlines.sweep import sweep as sla_sweep

    load_now = datetime.fromisoformat(scale_bench.state_get("load_now") or "")
    base, far = load_now - timedelta(hours=1), load_now + timedelta(hours=12)
    window = int(scale_bench.state_get("next_window") or 0)
    sla_bench.place_due_windows(base, window, 1, far, newest)
    scale_bench.state_set("next_window", window + 1)
    with connection.cursor() as cur:
        cur.execute("LOAD 'auto_explain'")
        for setting, value in (
            ("log_min_duration", "0"),
            ("log_analyze", "on"),
            ("log_buffers", "on"),
            ("log_wal", "on"),
            ("log_level", "notice"),
        ):
            cur.execute(f"SET auto_explain.{setting} = {value}")
    raw = connection.connection
    raw.notices.clear()
    with transaction.atomic():  # the sweep's own atomic is then a savepoint
        t0 = time.perf_counter()
        raised = sla_sweep(now=sla_bench.window_end(base, window))
        swept = time.perf_counter() - t0
        with connection.cursor() as cur:
            cur.execute("RESET auto_explain.log_min_duration")
            cur.execute(
                """SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferred
                   AND conrelid = ANY(%s::regclass[]) ORDER BY conname""",
                [list(sla_bench.table_names().values())],
            )
            each = []
            for (name,) in cur.fetchall():
                t0 = time.perf_counter()
                cur.execute(f'SET CONSTRAINTS "{name}" IMMEDIATE')
                each.append((name, (time.perf_counter() - t0) * 1000))
            t0 = time.perf_counter()
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            checks = time.perf_counter() - t0 + sum(ms for _name, ms in each) / 1000
        t0 = time.perf_counter()
    committed = time.perf_counter() - t0
    sla_bench.drop_queue_keys(os.environ["REDIS_URL"], os.environ["CELERY_QUEUE"])
    print(f"  explained sweep: {raised} raised, {swept * 1000:.1f} ms with auto_explain;")
    print(f"  deferred foreign-key checks {checks * 1000:.1f} ms, commit {committed * 1000:.1f} ms")
    for name, ms in each:
        print(f"    {name:<60} {ms:6.1f} ms")
    for notice in raw.notices:
        text = re.sub(r"ARRAY\[[\d,]{80,}\]", "ARRAY[…]", notice)
        text = re.sub(r"'\{[\d,]{80,}\}'", "'{…}'", text)
        text = re.sub(r"IN \(([\d, ]{80,})\)", "IN (…)", text)
        print("    " + text.strip().replace("\n", "\n    "))


def main() -> None:
    args = scale_bench.parse_args()
    if args.child:
        child(args)
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        sys.exit("Set DATABASE_URL (its server and user are used; the database names are ours)")
    for size in args.sizes:
        name = f"{args.db_prefix}{scale_bench.size_name(size)}"
        print(f"\n== {size:,} leads in {name}", flush=True)
        command = [sys.executable, __file__, *sys.argv[1:], "--child", str(size)]
        env = {
            **os.environ,
            "DATABASE_URL": scale_bench.database_url(base, name),
            "PYTHONUNBUFFERED": "1",
        }
        if subprocess.run(command, env=env, check=False).returncode:
            sys.exit(f"the run at {size:,} failed")


if __name__ == "__main__":
    main()
