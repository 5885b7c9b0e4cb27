#!/usr/bin/env python
"""The queue's CSV export as a job (leads/exports.py, export_job_run): rows per second and the
peak memory of the process that runs it, at growing numbers of exported leads.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_export \\
        .venv/bin/python bench/export_bench.py [--sizes 100000,1000000] [--keep] [--reuse] \\
        [--no-wait] [--existing]

What it does:
1. Creates the database if missing, migrates (bench/harness.py: DEBUG off), makes the
   harness's world (10 qualification teams, their head) and seeds leads with its set-based
   INSERT ... SELECT, every one open (exported); each lead gets its phone as a contact point
   (mobile) and, for the 40% with an e-mail, that too: the "All phones" / "All e-mails" cells.
2. For each size (the table grown to it): an ExportJob of the head's whole queue (all ten
   teams), run by `export_job_run` in a fresh Python process, as a Celery worker runs it. The
   child reports its time; the parent reads the child's peak RSS (getrusage of children) and,
   for scale, the peak RSS of a child that only sets Django up.
   The child also samples, every half second, the CPU time of the PostgreSQL processes
   serving the benchmark's database (pg_stat_activity, /proc): the lines are written there.
Prints rows/s, the CPU seconds of both sides and peak RSS per size, and the machine's load.
Before each run it waits until no other benchmark or test run shares the cores (--no-wait:
run anyway). Without --keep the
database is dropped at the end if this run created it; --reuse exports the leads a --keep run
left instead of seeding them again. --existing runs on a database another script built with
the harness's world (e.g. crm_bench_10m, by scale_bench.py) and changes nothing there but the
export job: no migration, no seeding, no VACUUM; it exports the head's whole queue, whatever
its size, and deletes the job and its file afterwards (--sizes is ignored).
"""

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402 - after the path is set

TARGET_ROWS_PER_S = 50_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="exported leads, ascending")
    parser.add_argument("--keep", action="store_true", help="keep the database and its data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the leads a --keep run left (sizes below their number are skipped)",
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="export the head's queue of a database built by another script; write only the job",
    )
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    parser.add_argument("--run-job", type=int, help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    args.open_share = 1.0  # every seeded lead is open: exported
    return args


def child(job_id: int | None) -> None:
    """In a fresh process: run the job as the worker would (or, without one, only set up)."""
    harness.django_setup()
    if job_id is None:
        return
    from leads.exports import export_job_run

    database = DatabaseCpu()
    database.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    export_job_run(job_id, progress_every=50_000)
    cpu, seconds = time.process_time() - cpu0, time.perf_counter() - t0
    print(f"{database.stop():.3f}")  # the database server's CPU seconds for this database
    print(f"{cpu:.3f}")  # this process's CPU seconds
    print(f"{seconds:.3f}")


class DatabaseCpu(threading.Thread):
    """The CPU seconds PostgreSQL spends for the export: every half second, the server
    processes serving this database (the export's connections and their parallel workers,
    from pg_stat_activity) and their CPU time from /proc; each process counts from its
    first reading (0 for one born after the start) to its last. A process living under half
    a second may be missed: a lower bound."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.first: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        import psycopg2

        # Autocommit: pg_stat_activity is read once per transaction, then kept.
        watcher = psycopg2.connect(os.environ["DATABASE_URL"])
        watcher.autocommit = True
        try:
            with watcher.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                mine = cur.fetchone()[0]
                starting = True
                while True:
                    cur.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    )
                    for (pid,) in cur.fetchall():
                        if pid != mine:
                            cpu = process_cpu(pid)
                            self.first.setdefault(pid, cpu if starting else 0.0)
                            self.seen[pid] = max(self.seen.get(pid, 0.0), cpu)
                    starting = False
                    if self.done.wait(0.5):
                        return
        finally:
            watcher.close()

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(cpu - self.first[pid] for pid, cpu in self.seen.items())


def process_cpu(pid: int) -> float:
    """A process's user + system CPU seconds (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(job_id: int | None) -> tuple[float | None, float | None, float | None, int]:
    """The child's seconds, its CPU seconds, the database's CPU seconds for it and its peak
    RSS in KiB (each child is waited for alone, so the children's maximum so far is the
    largest of them)."""
    command = [sys.executable, __file__, "--run-job", str(job_id if job_id else 0)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = done.stdout.strip().splitlines()
    if not out:
        return None, None, None, peak
    return float(out[-1]), float(out[-2]), float(out[-3]), peak


POINTS_SQL = """
INSERT INTO leads_leadcontactpoint (lead_id, kind, label, value, ext, raw, position)
SELECT id, 'phone', 'mobile', phone, '', '', 0 FROM leads_lead WHERE id > %(after)s
UNION ALL
SELECT id, 'email', 'other', email, '', '', 0 FROM leads_lead
 WHERE id > %(after)s AND email <> ''
"""


def seed_points(after: int) -> None:
    """The new leads' contact points, then VACUUM: the export reads them index-only, which
    needs the visibility map a live table's autovacuum keeps (and the planner its statistics)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(POINTS_SQL, {"after": after})
        cur.execute("VACUUM (ANALYZE) leads_leadcontactpoint")


def export_once(head, size: int, label: str, args) -> tuple:
    """One export job of the head's whole queue (`size` leads), run in a child process as
    the worker runs it; the job's file deleted after (and the job too with --existing)."""
    from django.db import connection

    from leads.exports import export_job_start
    from leads.models import ExportJob

    job = export_job_start(head, {}, "ru", "Europe/Moscow")
    connection.close()  # the child works alone on the database
    state = harness.wait_idle(label, args)
    seconds, cpu, db_cpu, peak = run_child(job.pk)
    job = ExportJob.objects.get(pk=job.pk)
    assert job.state == ExportJob.State.DONE, job.error
    assert job.rows_done == size, (job.rows_done, size)
    size_mb = job.file.size / 2**20
    job.file.delete(save=False)
    if args.existing:
        job.delete()
    print(
        f"  {size:,} rows in {seconds:.1f} s: {size / seconds:,.0f} rows/s "
        f"({size / cpu:,.0f} per CPU second of the process; PostgreSQL's CPU {db_cpu:.1f} s, "
        f"{size / (cpu + db_cpu):,.0f} rows per CPU second of both); "
        f"file {size_mb:,.0f} MiB; peak RSS {peak / 1024:,.0f} MiB",
        flush=True,
    )
    return size, seconds, cpu, db_cpu, peak, state["load"], size_mb


def main() -> None:
    args = parse_args()
    if args.run_job is not None:
        child(args.run_job or None)
        return
    url = os.environ["DATABASE_URL"]
    created = False if args.existing else harness.ensure_database(url)
    harness.django_setup()
    if not args.existing:
        harness.migrate_and_collect()
    # First: the peak read is the largest of all children so far.
    _seconds, _cpu, _db_cpu, idle_peak = run_child(None)
    results = [measure_existing(args)] if args.existing else grow_and_measure(args)
    print()
    print(f"peak RSS of a process that only sets Django up: {idle_peak / 1024:,.0f} MiB")
    print(
        f"{'rows':>10} {'seconds':>8} {'rows/s':>9} {'CPU s':>7} {'rows/CPU s':>10} "
        f"{'DB CPU s':>8} {'rows/CPU s both':>15} {'peak RSS':>9} {'file':>8} {'load':>5}"
    )
    for size, seconds, cpu, db_cpu, peak, load, size_mb in results:
        print(
            f"{size:>10,} {seconds:>8.1f} {size / seconds:>9,.0f} {cpu:>7.1f} "
            f"{size / cpu:>10,.0f} {db_cpu:>8.1f} {size / (cpu + db_cpu):>15,.0f} "
            f"{peak / 1024:>6,.0f} MiB {size_mb:>4,.0f} MiB {load:>5.2f}"
        )
    slowest = min(size / seconds for size, seconds, *_rest in results)
    # On a shared machine the wall time is mostly waiting for a core: the CPU seconds say
    # what the export costs.
    verdict = "meets" if slowest >= TARGET_ROWS_PER_S else "MISSES"
    print(f"target {TARGET_ROWS_PER_S:,} rows/s: {verdict} (slowest {slowest:,.0f} rows/s)")
    print(f"load average now: {os.getloadavg()}")
    if created and not args.keep:
        from django.db import connection

        connection.close()
        harness.drop_database(url)


def measure_existing(args) -> tuple:
    """--existing: the head's whole queue in a database another script built."""
    from django.contrib.auth.models import User

    from leads.exports import queue_leads

    head = User.objects.get(username=f"{harness.BENCH_PREFIX}head")
    size = queue_leads(head, {}).count()
    print(f"== {size:,} leads in the head's queue (existing database)", flush=True)
    return export_once(head, size, f"{size:,}", args)


def grow_and_measure(args) -> list[tuple]:
    """The leads grown to each size in turn (seeded here), exported at each."""
    from django.db import connection
    from django.utils import timezone

    world = harness.make_world()
    grown = 0
    if args.reuse:  # seeding 1M leads takes longer than exporting them
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM leads_lead")
            grown = cur.fetchone()[0]
    else:
        harness.clear_leads(world)
    pool = harness.pools()
    now = timezone.now()
    results = []
    for size in args.sizes:
        if size < grown:
            print(f"== {size:,} leads: skipped, the database holds {grown:,} (--reuse)")
            continue
        print(f"== {size:,} leads", flush=True)
        with connection.cursor() as cur:
            cur.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
            last = cur.fetchone()[0]
        if size > grown:
            harness.grow_leads(world, pool, grown, size, args, now)
            seed_points(last)
            grown = size
        harness.vacuum_analyze()
        results.append(export_once(world["head"], size, f"{size:,}", args))
    return results


if __name__ == "__main__":
    main()
