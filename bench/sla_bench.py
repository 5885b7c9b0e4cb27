#!/usr/bin/env python
"""The SLA sweep on PostgreSQL: one sweep's time at growing table sizes, and the delay from a
lead's breach_at to its manager's notification with a real worker and beat.

The issue: "1,000,000 leads, 100,000 open, 1,000 due: one sweep's time at 100k and at 1M leads.
Target: under 200 ms, and not growing with the table. With a real worker and beat: the delay
from breach_at to the manager's notification over 100 leads (median and max). Target: at most
the sweep interval plus 5 s."

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_sla \
        .venv/bin/python bench/sla_bench.py [--sizes 100000,1000000] [--skip-delay] [--keep]

What it does:
1. Creates the database if missing and migrates it. Teams, users and leads come from
   bench/harness.py (imported, not copied): 10 qualification teams of 8 qualifiers (+1 in
   two teams) managed by one sales head, and leads loaded with set-based SQL, 10% open. Every
   bench user gets an e-mail address, so each notification also writes an e-mail delivery.
2. Deadlines, set-based (INSERT ... SELECT): every lead's warn and breach (cancelled by its
   first call when that came in time, else raised), a converted lead's checked-lead reminder
   and escalation and its acceptance deadline (cancelled or raised), and for every open lead a
   pending pair in the future (a callback warn + breach for new leads, reminder + escalation
   for checked ones, due in 1..7 days). Raised breaches have their manager notification and a
   sent e-mail delivery, as the sweep leaves them (a raised deadline is its own timeline entry).
3. Timing, per size: the clock of the measurement is set an hour before the load, where no
   deadline is naturally due; 8 windows of 30 s each get exactly 1,000 pending deadlines moved
   into them (picked at random among the future pending ones: warn, breach, reminder,
   escalation), then VACUUM ANALYZE. Window 1 is an untimed warm-up; windows 2..6 are the timed
   repetitions: one call of crm.deadlines.sweep.sweep(now=end of window) each, perf_counter around
   it (the claim UPDATE, the notifications and their deliveries in the
   same transaction, and the enqueueing of the deliveries to Redis after commit), with the SQL
   time per statement (execute_wrapper). Window 7 is used, in transactions that are rolled
   back, for EXPLAIN (ANALYZE, BUFFERS) of the app's claim as a sweep sends it (lock the due
   rows, then update them by id; captured, not copied), then swept by the app untimed.
   Window 8 gets a cProfile of one sweep (where the Python time goes).
   Enqueued delivery messages go to a throw-away Redis queue (bench-sla-timing), deleted after.
4. Delay (unless --skip-delay): the backlog is swept and every pending delivery marked sent,
   then a real worker with embedded beat is started:
       .venv/bin/celery -A crm worker -B --pool=solo
   with DATABASE_URL of this database, REDIS_URL=redis://127.0.0.1:6379/5, CELERY_QUEUE=bench-sla
   and SLA_SWEEP_SECONDS (30 by default). Once it is ready, 100 new leads are written whose
   breach_at falls 10..70 s ahead (spread evenly); the script waits for each lead's
   "lead_breach" notification and prints notification.created_at - deadline.due_at (median,
   max), against the interval + 5 s. The worker is stopped at the end (SIGTERM, by its pid).
Before each timing phase it waits (polling every 30 s, at most 20 minutes) until no pytest,
intake_bench, queue_bench or locust process runs; the report says if it had to run anyway.
Without --keep the database is dropped at the end if this run created it.
"""

import argparse
import contextlib
import itertools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402 - after the path is set
from bench.harness import db_retry, wait_idle  # noqa: E402

SWEEP_TARGET_MS = 200.0
DUE_PER_SWEEP = 1000
WINDOW_S = 30
TIMING_QUEUE = "bench-sla-timing"
WORKER_QUEUE = "bench-sla"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="total leads at each step")
    parser.add_argument("--repeats", type=int, default=5, help="timed sweeps per size")
    parser.add_argument("--open-share", type=float, default=0.10, help="share of open leads")
    parser.add_argument("--skip-delay", action="store_true", help="no worker/beat phase")
    parser.add_argument("--delay-leads", type=int, default=100)
    parser.add_argument(
        "--sweep-seconds", type=float, default=30.0, help="SLA_SWEEP_SECONDS given to beat"
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    parser.add_argument("--keep", action="store_true", help="keep the database and its data")
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    return args


# --------------------------------------------------------------------------- data


def table_names() -> dict:
    from crm.deadlines.models import Deadline
    from crm.notifications.models import Delivery, Notification
    from leads.models import Lead, LeadEvent

    return {
        "lead": Lead._meta.db_table,
        "deadline": Deadline._meta.db_table,
        "event": LeadEvent._meta.db_table,
        "notification": Notification._meta.db_table,
        "delivery": Delivery._meta.db_table,
    }


def prepare_world(world: dict) -> None:
    """E-mail addresses for the bench users (each notification then writes a delivery)."""
    from django.contrib.auth.models import User

    for user in User.objects.filter(username__startswith=harness.BENCH_PREFIX, email=""):
        user.email = f"{user.username}@bench.example.ru"
        user.save(update_fields=["email"])


def clear_all(world: dict) -> None:
    from django.db import connection

    harness.clear_leads(world)  # TRUNCATE leads_lead CASCADE: deadlines, events, attempts
    t = table_names()
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {t['notification']} CASCADE")


# Step 1: warn and breach of every lead (stopped by the first call in time, or by closing;
# otherwise raised when due, or pending when still ahead); a converted lead's checked-lead
# reminder and escalation (cancelled by the conversion or raised) and its acceptance deadline
# (kept on the lead here: the bench makes no deals; the app hangs it on the deal. Never due,
# so the sweep never reads it; it keeps the table's size as before).
HISTORY_SQL = """
INSERT INTO {deadline} (lead_id, lead_team_id, kind, due_at, raised_at, cancelled_at)
SELECT id, team_id, kind, due,
       CASE WHEN stop_at IS NOT NULL AND stop_at <= due THEN NULL
            WHEN due <= %(now)s THEN due + random() * interval '25 seconds' END,
       CASE WHEN stop_at IS NOT NULL AND stop_at <= due THEN stop_at END
FROM (
    SELECT l.id, l.team_id, k.kind, k.due, k.stop_at
    FROM {lead} l
    CROSS JOIN LATERAL (
        VALUES ('warn', l.warn_at, coalesce(l.first_attempt_at, l.closed_at)),
               ('breach', l.breach_at, coalesce(l.first_attempt_at, l.closed_at)),
               ('stall_remind',
                l.first_attempt_at + (l.closed_at - l.first_attempt_at) / 2 + interval '2 days',
                l.closed_at),
               ('stall_escalate',
                l.first_attempt_at + (l.closed_at - l.first_attempt_at) / 2 + interval '4 days',
                l.closed_at),
               ('acceptance', l.closed_at + interval '2 hours',
                l.closed_at + random() * interval '3 hours')
    ) AS k(kind, due, stop_at)
    WHERE l.id > %(lo)s AND l.id <= %(hi)s
      AND (k.kind IN ('warn', 'breach') OR l.state = 'converted')
) s
"""

# Step 2: every open lead has a pending pair in the future.
FUTURE_SQL = """
INSERT INTO {deadline} (lead_id, lead_team_id, kind, due_at, raised_at, cancelled_at)
SELECT id, team_id, k.kind, k.due, NULL, NULL
FROM (
    SELECT id, team_id, state,
           %(now)s::timestamptz + interval '1 day' + random() * interval '6 days' AS d
    FROM {lead}
    WHERE id > %(lo)s AND id <= %(hi)s AND state IN ('new', 'checked')
) l
CROSS JOIN LATERAL (
    VALUES (CASE WHEN l.state = 'new' THEN 'warn' ELSE 'stall_remind' END, l.d),
           (CASE WHEN l.state = 'new' THEN 'breach' ELSE 'stall_escalate' END,
            l.d + CASE WHEN l.state = 'new' THEN interval '5 minutes' ELSE interval '2 days' END)
) AS k(kind, due)
"""

# Step 3: what the sweep left behind for the raised ones: for a breach the manager's
# notification with its (sent) e-mail delivery.
NOTIFICATIONS_SQL = """
INSERT INTO {notification} (recipient_id, kind, message, params, url, created_at, read_at)
SELECT t.manager_id, 'lead_' || d.kind, %(message)s, jsonb_build_object('lead', l.name),
       '/leads/' || l.id || '/', d.raised_at, d.raised_at + interval '1 hour'
FROM {deadline} d
JOIN {lead} l ON l.id = d.lead_id
JOIN crm_teams_team t ON t.id = l.team_id
WHERE d.lead_id > %(lo)s AND d.lead_id <= %(hi)s AND d.raised_at IS NOT NULL
  AND d.kind = 'breach' AND t.manager_id IS NOT NULL
"""
DELIVERIES_SQL = """
INSERT INTO {delivery} (notification_id, channel, target, status, attempts, next_attempt_at,
                        leased_until, sent_at, last_error)
SELECT n.id, 'email', u.email, 'sent', 1, n.created_at, NULL,
       n.created_at + interval '2 seconds', ''
FROM {notification} n
JOIN auth_user u ON u.id = n.recipient_id
WHERE n.id > %(nlo)s AND u.email <> ''
"""


def team_table() -> str:
    from crm.teams.models import Team

    return Team._meta.db_table


def add_deadlines(lo: int, hi: int, now) -> dict:
    """Deadlines and what raising them left, for leads lo < id <= hi (set-based)."""
    from django.db import connection, transaction

    from leads.alerts import BREACH

    t = table_names()
    timings = {}
    with connection.cursor() as cur:
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {t['notification']}")
        nlo = cur.fetchone()[0]
    steps = [
        ("deadlines (history)", HISTORY_SQL, {"lo": lo, "hi": hi, "now": now}),
        ("deadlines (open, future)", FUTURE_SQL, {"lo": lo, "hi": hi, "now": now}),
        (
            "breach notifications",
            NOTIFICATIONS_SQL.replace("crm_teams_team", team_table()),
            {"lo": lo, "hi": hi, "message": BREACH.message},
        ),
        ("e-mail deliveries", DELIVERIES_SQL, {"nlo": nlo}),
    ]
    for label, statement, params in steps:
        t0 = time.perf_counter()

        def once(statement=statement, params=params) -> int:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit = off")
                cur.execute(statement.format(**t), params)
                return cur.rowcount

        rows = db_retry(once, label)
        timings[label] = (rows, time.perf_counter() - t0)
        print(f"    {label:<26} {rows:>10,} rows  {timings[label][1]:6.1f} s", flush=True)
    return timings


def vacuum_all() -> None:
    from django.db import connection

    t = table_names()
    with connection.cursor() as cur:
        for name in ("lead", "deadline", "event", "notification", "delivery"):
            cur.execute(f"VACUUM (ANALYZE) {t[name]}")


def deadline_summary() -> str:
    from django.db import connection

    t = table_names()
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT count(*),
                       count(*) FILTER (WHERE raised_at IS NULL AND cancelled_at IS NULL),
                       count(*) FILTER (WHERE raised_at IS NOT NULL),
                       count(*) FILTER (WHERE cancelled_at IS NOT NULL),
                       pg_size_pretty(pg_total_relation_size('{t["deadline"]}')),
                       pg_size_pretty(pg_relation_size('deadline_pending'))
                FROM {t["deadline"]}"""
        )
        total, pending, raised, cancelled, size, idx = cur.fetchone()
        cur.execute(f"SELECT count(*) FROM {t['notification']}")
        notes = cur.fetchone()[0]
        cur.execute(f"SELECT count(*) FROM {t['event']}")
        events = cur.fetchone()[0]
    return (
        f"  deadlines {total:,}: {pending:,} pending, {raised:,} raised, {cancelled:,} "
        f"cancelled; table+indexes {size}, deadline_pending {idx}; events {events:,}, "
        f"notifications {notes:,}"
    )


def pending_count() -> int:
    from crm.deadlines.models import Deadline

    return Deadline.objects.filter(raised_at=None, cancelled_at=None).count()


def place_due_windows(base, first_window: int, n_windows: int, far, newest: bool = False) -> None:
    """Move DUE_PER_SWEEP pending future deadlines into each of n_windows 30-second windows
    starting at window `first_window` after `base` (untimed preparation): of leads drawn at
    random from the whole table, or (`newest`) those of the newest leads, as in production,
    where a lead's callback deadlines come due minutes after it arrived."""
    from django.db import connection, transaction

    from leads.alerts import LEAD_KINDS

    t = table_names()
    n = n_windows * DUE_PER_SWEEP
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""WITH picked AS (
                    SELECT id FROM {t["deadline"]}
                    WHERE raised_at IS NULL AND cancelled_at IS NULL AND due_at > %s
                      AND kind = ANY(%s)
                    ORDER BY {"lead_id DESC" if newest else "random()"} LIMIT %s
                ), numbered AS (
                    SELECT id, (row_number() OVER ()) - 1 AS rn FROM picked
                )
                UPDATE {t["deadline"]} d
                SET due_at = %s::timestamptz
                    + (%s + numbered.rn / %s) * interval '{WINDOW_S} seconds'
                    + interval '0.5 seconds' + random() * interval '{WINDOW_S - 1} seconds'
                FROM numbered WHERE d.id = numbered.id""",
            [far, list(LEAD_KINDS), n, base, first_window, DUE_PER_SWEEP],
        )
        if cur.rowcount != n:
            sys.exit(f"only {cur.rowcount} pending future deadlines to move, {n} needed")
    with connection.cursor() as cur:
        cur.execute(f"VACUUM (ANALYZE) {t['deadline']}")


def window_end(base, k: int):
    return base + timedelta(seconds=WINDOW_S * (k + 1))


def due_count(now) -> int:
    from crm.deadlines.models import Deadline
    from leads.alerts import LEAD_KINDS

    return Deadline.objects.filter(
        raised_at=None, cancelled_at=None, due_at__lte=now, kind__in=LEAD_KINDS
    ).count()


# --------------------------------------------------------------------------- measuring


class Recorder:
    """Every statement with its time (execute_wrapper), to split a sweep's SQL."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, (time.perf_counter() - t0) * 1000))


def timed_sweep(now) -> dict:
    from django.db import connection

    from crm.deadlines.sweep import sweep as sla_sweep
    from crm.notifications.models import Delivery, Notification

    due = due_count(now)
    rec = Recorder()
    with connection.execute_wrapper(rec):
        t0 = time.perf_counter()
        raised = sla_sweep(now=now)
        total = (time.perf_counter() - t0) * 1000
    claim = sum(ms for _sql, ms in rec.statements[:2])  # lock the due rows, mark them
    parts: dict[str, list[float]] = {}
    for sql, ms in rec.statements:
        parts.setdefault(statement_key(sql), []).append(ms)
    notes = Notification.objects.filter(created_at=now)
    return {
        "due": due,
        "raised": raised,
        "ms": total,
        "sql_ms": sum(ms for _sql, ms in rec.statements),
        "claim_ms": claim,
        "queries": len(rec.statements),
        "notifications": notes.count(),
        "deliveries": Delivery.objects.filter(notification__created_at=now).count(),
        "load": os.getloadavg()[0],
        "parts": {key: (len(v), sum(v)) for key, v in parts.items()},
    }


def profile_sweep(now) -> str:
    """cProfile of one sweep: where its Python time goes."""
    import cProfile
    import io
    import pstats

    from crm.deadlines.sweep import sweep as sla_sweep

    profiler = cProfile.Profile()
    profiler.enable()
    raised = sla_sweep(now=now)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(28)
    text = out.getvalue()
    text = text[text.find("ncalls") :] if "ncalls" in text else text
    return f"({raised} raised)\n" + text.replace(str(ROOT) + "/", "").replace(
        str(Path(sys.prefix)) + "/lib/python3.11/site-packages/", ""
    )


def statement_key(sql: str) -> str:
    """'UPDATE leads_deadline', 'INSERT notifications_notification', ... for the breakdown."""
    verb = (re.match(r"\s*(\w+)", sql) or re.match(r"", "")).group(0).strip().upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return f"{verb} {table.group(1)}" if table else verb


# --------------------------------------------------------------------------- plans


def counts_at(now) -> tuple[int, int]:
    from crm.notifications.models import Delivery, Notification

    return (
        Notification.objects.filter(created_at=now).count(),
        Delivery.objects.filter(notification__created_at=now).count(),
    )


def explain_claim(now) -> tuple[float, str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the app's own claim, as a sweep of this window sends it
    (its first two statements: lock the due rows, then mark them by id), all rolled back; the
    sum of their execution times. The statements are captured, never written here."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from crm.deadlines.sweep import sweep as sla_sweep

    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            sla_sweep(now=now)
        transaction.set_rollback(True)
    claim = [q["sql"] for q in captured.captured_queries if "deadline" in q["sql"]][:2]
    total, text = 0.0, []
    with transaction.atomic():  # the lock's rows stay locked for the UPDATE's plan, as in the app
        for sql in claim:
            ms, plan = harness.explain(sql)
            total += ms
            text.append(re.sub(r"\s+", " ", sql)[:400] + "\n" + plan)
        transaction.set_rollback(True)
    return total, "", "\n\n".join(text)


# --------------------------------------------------------------------------- delay phase


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def drop_queue_keys(url: str, queue: str) -> int:
    """Delete the Redis keys of one of our queues (the list and kombu's binding)."""
    try:
        client = redis_client(url)
        keys = [k for k in client.scan_iter(match=f"*{queue}*") if queue.encode() in k]
        if keys:
            client.delete(*keys)
        return len(keys)
    except Exception as error:  # noqa: BLE001 - cleanup only
        print(f"  (could not clean Redis keys of {queue}: {error})")
        return 0


def drain_backlog() -> int:
    """Raise whatever is due now (leads loaded in the last minutes before the load's clock),
    so the worker starts from a steady state; mark every pending delivery sent."""
    from django.utils import timezone

    from crm.deadlines.sweep import sweep as sla_sweep
    from crm.notifications.models import Delivery

    raised = 0
    while True:
        n = sla_sweep(now=timezone.now())
        raised += n
        if not n:
            break
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    return raised


def start_worker(url: str, redis_url: str, sweep_s: float, workdir: Path) -> tuple:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": WORKER_QUEUE,
        "SLA_SWEEP_SECONDS": f"{sweep_s:g}",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DEBUG": "false",
    }
    cmd = [
        str(ROOT / ".venv" / "bin" / "celery"),
        "-A",
        "crm",
        "worker",
        "-B",
        "--pool=solo",
        "--loglevel=INFO",
        "--hostname=bench-sla@%h",
        f"--schedule={workdir / 'celerybeat-schedule'}",
    ]
    log_path = workdir / "worker.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed by stop_worker
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    shown = " ".join(cmd[:6]) + " ..."
    print(
        f"  started worker pid {proc.pid}: DATABASE_URL=<bench db> REDIS_URL={redis_url} "
        f"CELERY_QUEUE={WORKER_QUEUE} SLA_SWEEP_SECONDS={sweep_s:g} {shown}"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            sys.exit(f"the worker exited with {proc.returncode}:\n{text[-3000:]}")
        if re.search(r"celery@\S+ ready|bench-sla@\S+ ready", text) and "beat" in text.lower():
            break
        time.sleep(0.5)
    else:
        stop_worker(proc, log)
        sys.exit(f"the worker did not get ready in 120 s:\n{log_path.read_text()[-3000:]}")
    return proc, log, log_path


def stop_worker(proc, log) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # warm shutdown of the worker we started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    # the embedded beat runs in the worker's own session: end what is left of it, by group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    log.close()
    print(f"  worker pid {proc.pid} stopped (exit code {proc.returncode})")


def create_delay_leads(world: dict, n: int, now) -> list[tuple[int, int, object]]:
    """n new leads whose breach falls 10..70 s from now, evenly spread; their warning was
    raised already (as a sweep 5 minutes ago did). Returns (lead id, deadline id, due_at)."""
    from django.db import transaction

    from crm.deadlines.models import Deadline
    from leads.models import Lead

    leads = []
    for i in range(n):
        breach = now + timedelta(seconds=10 + i * 60 / max(1, n - 1))
        leads.append(
            Lead(
                team=world["teams"][i % len(world["teams"])],
                source=world["sources"][0],
                name=f"Задержка Проверка {i:03d}",
                phone=f"+7999{i:07d}",
                due_at=breach,
                warn_at=breach - timedelta(minutes=5),
                breach_at=breach,
                created_at=breach - timedelta(minutes=20),
            )
        )
    with transaction.atomic():
        leads = Lead.objects.bulk_create(leads)
        warn = [
            Deadline(
                lead=lead,
                lead_team_id=lead.team_id,
                kind="warn",
                due_at=lead.warn_at,
                raised_at=lead.warn_at,
            )
            for lead in leads
        ]
        breach = [
            Deadline(lead=lead, lead_team_id=lead.team_id, kind="breach", due_at=lead.breach_at)
            for lead in leads
        ]
        Deadline.objects.bulk_create(warn + breach)
    return [(lead.pk, d.pk, d.due_at) for lead, d in zip(leads, breach, strict=True)]


def measure_delay(world: dict, url: str, args) -> dict:
    from django.urls import reverse
    from django.utils import timezone

    from crm.notifications.models import Notification

    redis_url = os.environ["REDIS_URL"]
    drop_queue_keys(redis_url, WORKER_QUEUE)
    workdir = Path(tempfile.mkdtemp(prefix="sla-bench-worker-"))
    proc, log, log_path = start_worker(url, redis_url, args.sweep_seconds, workdir)
    try:
        started = timezone.now()
        created = create_delay_leads(world, args.delay_leads, started)
        urls = {
            reverse("leads:detail", args=[lead_id]): (lead_id, due) for lead_id, _d, due in created
        }
        last_due = max(due for _l, _d, due in created)
        print(
            f"  {len(created)} leads written at {started:%H:%M:%S}; breaches due "
            f"{min(due for *_x, due in created):%H:%M:%S} .. {last_due:%H:%M:%S}",
            flush=True,
        )
        give_up = last_due + timedelta(seconds=args.sweep_seconds * 3 + 60)
        found = {}
        while timezone.now() < give_up:
            for note in Notification.objects.filter(kind="lead_breach", url__in=list(urls)):
                found.setdefault(note.url, note.created_at)
            if len(found) == len(urls):
                break
            if proc.poll() is not None:
                print("  the worker died:\n" + log_path.read_text()[-3000:])
                break
            time.sleep(1)
        load = os.getloadavg()[0]
    finally:
        stop_worker(proc, log)
    sweeps = re.findall(
        r"Task crm\.deadlines\.tasks\.sweep\[[^\]]+\] succeeded in ([\d.]+)s: (\d+)",
        log_path.read_text(errors="replace"),
    )
    delays = sorted((found[u] - due).total_seconds() for u, (_l, due) in urls.items() if u in found)
    moments = sorted(set(found.values()))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    drop_queue_keys(redis_url, WORKER_QUEUE)
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()
    return {
        "n": len(urls),
        "notified": len(found),
        "delays": delays,
        "sweep_moments": moments,
        "gaps": gaps,
        "worker_sweeps": sweeps,
        "load": load,
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_bench_sla")
    started = time.perf_counter()
    # Deliveries enqueued by the timed sweeps go to a throw-away queue on Redis, not to the
    # project's SQLite broker file; the worker phase uses its own queue.
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
    os.environ["CELERY_QUEUE"] = TIMING_QUEUE
    created = harness.ensure_database(url)
    print(f"database {harness.server_params(url)[0]}: {'created' if created else 'exists'}")
    harness.django_setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    import django
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
    print(
        f"PostgreSQL {pg_version}; Django {django.get_version()}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; broker for the timed sweeps: "
        f"{os.environ['REDIS_URL']} queue {TIMING_QUEUE}"
    )
    world = harness.make_world()
    prepare_world(world)
    clear_all(world)
    pool = harness.pools()
    load_args = SimpleNamespace(seed=args.seed, open_share=args.open_share)
    load_now = timezone.now()
    # The measurement clock: an hour before the load, where nothing is naturally due.
    base = load_now - timedelta(hours=1)
    far = load_now + timedelta(hours=12)
    windows_per_size = 1 + args.repeats + 2  # warm-up, timed, EXPLAIN, profile
    loaded, next_window = 0, 0
    results, machine = [], []
    for size in args.sizes:
        print(f"== {size:,} leads")
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {table_names()['lead']}")
            lo = cur.fetchone()[0]

        def undo_partial_load(lo=lo) -> None:
            with connection.cursor() as cur:
                cur.execute(f"DELETE FROM {table_names()['lead']} WHERE id > %s", [lo])

        db_retry(
            lambda a=loaded + 1, b=size + 1: harness.grow_leads(
                world, pool, a, b, load_args, load_now
            ),
            "leads",
            undo=undo_partial_load,
        )
        with connection.cursor() as cur:
            cur.execute(f"SELECT max(id) FROM {table_names()['lead']}")
            hi = cur.fetchone()[0]
        add_deadlines(lo, hi, load_now)
        vacuum_all()
        loaded = size
        print(f"  loaded in {time.perf_counter() - t0:.1f} s (with VACUUM ANALYZE)")
        print(harness.table_summary(world))
        print(deadline_summary())
        db_retry(lambda k=next_window: place_due_windows(base, k, windows_per_size, far), "windows")
        warm, timed_k = next_window, range(next_window + 1, next_window + 1 + args.repeats)
        explain_k = next_window + 1 + args.repeats
        next_window += windows_per_size
        machine.append(wait_idle(f"sweep timing at {size:,}", args))
        w = db_retry(lambda k=warm: timed_sweep(window_end(base, k)), "sweep")
        print(f"  warm-up sweep: {w['raised']} raised in {w['ms']:.1f} ms (not counted)")
        runs = []
        for k in timed_k:
            # a sweep that lost the database rolled back: the same window is swept again
            r = db_retry(lambda k=k: timed_sweep(window_end(base, k)), "sweep")
            runs.append(r)
            print(
                f"  sweep {len(runs)}: due {r['due']:,}, raised {r['raised']:,} in "
                f"{r['ms']:7.1f} ms (SQL {r['sql_ms']:6.1f} ms in {r['queries']} statements, "
                f"claim {r['claim_ms']:5.1f} ms); {r['notifications']:,} notifications, "
                f"{r['deliveries']:,} deliveries; load {r['load']:.2f}",
                flush=True,
            )
        ms, sql, plan = explain_claim(window_end(base, explain_k))
        print(
            "  EXPLAIN ANALYZE of the claim, lock + update by ids (1,000 due, rolled back): "
            f"{ms:.2f} ms"
        )
        # the EXPLAIN window was rolled back: raise it (untimed) so the next size starts clean
        from crm.deadlines.sweep import sweep as sla_sweep

        sla_sweep(now=window_end(base, explain_k))
        same = counts_at(window_end(base, explain_k))
        print(
            f"  the app's sweep of those rows (untimed, to compare): {same[0]:,} notifications, "
            f"{same[1]:,} deliveries"
        )
        profile = profile_sweep(window_end(base, explain_k + 1))
        results.append(
            {
                "size": size,
                "runs": runs,
                "explain": (ms, sql, plan),
                "pending": pending_count(),
                "profile": profile,
            }
        )
        print()

    print_sweep_table(results, args)
    ms, sql, plan = results[-1]["explain"]
    print(
        "\n--- EXPLAIN (ANALYZE, BUFFERS) of the claim's two statements at "
        f"{results[-1]['size']:,} leads ({DUE_PER_SWEEP:,} due; rolled back)"
    )
    print(sql)
    print(plan)
    print(
        f"\n--- cProfile of one more sweep at {results[-1]['size']:,} leads (1,000 due; "
        "untimed, the profiler slows it down), by cumulative time"
    )
    print(results[-1]["profile"])

    delay = None
    if not args.skip_delay:
        print("\n== delay from breach_at to the manager's notification (real worker + beat)")
        drop_queue_keys(os.environ["REDIS_URL"], TIMING_QUEUE)
        backlog = drain_backlog()
        print(f"  swept the backlog first (deadlines due since the load): {backlog:,} raised")
        machine.append(wait_idle("worker + beat delay", args))
        delay = measure_delay(world, url, args)
        print_delay(delay, args)
    drop_queue_keys(os.environ["REDIS_URL"], TIMING_QUEUE)

    harness.print_machine(machine)

    connection.close()
    if args.keep:
        print(f"\n--keep: data left in {harness.server_params(url)[0]}")
    elif created:
        harness.drop_database(url)
        print(f"\ndropped database {harness.server_params(url)[0]} (created by this run)")
    else:
        from django.db import connection as conn

        clear_all(world)
        conn.close()
        print("\nremoved the bench leads and notifications (the database existed before)")
    print(f"total run time {time.perf_counter() - started:.0f} s")


def print_sweep_table(results: list[dict], args) -> None:
    print(
        f"One sla_sweep() call with {DUE_PER_SWEEP:,} deadlines due (in process, perf_counter; "
        f"{args.repeats} repetitions, each with a fresh set; includes notifications, deliveries "
        "and the enqueue after commit)"
    )
    head = (
        f"{'leads':>10} {'open':>8} {'pending':>8} {'n':>3} {'median ms':>10} {'max ms':>8} "
        f"{'SQL med':>8} {'claim med':>9} {'stmts':>5} {'notifs':>7} {'deliv':>6} "
        f"{'EXPLAIN ms':>10}  <200ms"
    )
    print(head)
    print("-" * len(head))
    for step in results:
        runs = step["runs"]
        total = [r["ms"] for r in runs]
        med, worst = statistics.median(total), max(total)
        step["median"] = med
        print(
            f"{step['size']:>10,} {round(step['size'] * args.open_share):>8,} "
            f"{step['pending']:>8,} {len(runs):>3} {med:>10.1f} {worst:>8.1f} "
            f"{statistics.median(r['sql_ms'] for r in runs):>8.1f} "
            f"{statistics.median(r['claim_ms'] for r in runs):>9.1f} "
            f"{runs[0]['queries']:>5} {runs[0]['notifications']:>7,} {runs[0]['deliveries']:>6,} "
            f"{step['explain'][0]:>10.2f}  {'yes' if worst < SWEEP_TARGET_MS else 'NO'}"
        )
    print("\nWhere a sweep's SQL time goes (median over the repetitions; statements x count)")
    keys = []
    for step in results:
        for r in step["runs"]:
            keys += [k for k in r["parts"] if k not in keys]
    head = f"{'statement':<42}" + "".join(f"{step['size']:>14,}" for step in results)
    print(head)
    print("-" * len(head))
    for key in keys:
        cells = []
        for step in results:
            found = [r["parts"].get(key, (0, 0.0)) for r in step["runs"]]
            n = max(c for c, _ms in found)
            cells.append(f"{statistics.median(ms for _c, ms in found):>8.1f} ms x{n:<3}")
        print(f"{key[:42]:<42}" + "".join(f"{c:>14}" for c in cells))
    cells = [
        f"{statistics.median(r['ms'] - r['sql_ms'] for r in step['runs']):>8.1f} ms    "
        for step in results
    ]
    print(f"{'Python (total - SQL)':<42}" + "".join(f"{c:>14}" for c in cells))
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(
            f"median {a['median']:.1f} ms at {a['size']:,} -> {b['median']:.1f} ms at "
            f"{b['size']:,} ({b['median'] / a['median']:.2f}x for {b['size'] / a['size']:.0f}x "
            "the leads)"
        )


def print_delay(d: dict, args) -> None:
    target = args.sweep_seconds + 5
    print(
        f"Delay breach_at -> 'lead_breach' notification.created_at, {d['n']} leads, "
        f"SLA_SWEEP_SECONDS={args.sweep_seconds:g} (beat interval), target <= {target:g} s"
    )
    if not d["delays"]:
        print("  no notification arrived")
        return
    head = (
        f"{'leads':>6} {'notified':>8} {'min s':>6} {'median s':>9} {'p90 s':>6} "
        f"{'max s':>6}  max<={target:g}s"
    )
    print(head)
    print("-" * len(head))
    ds = d["delays"]
    p90 = ds[max(0, round(0.9 * len(ds)) - 1)]
    print(
        f"{d['n']:>6} {d['notified']:>8} {min(ds):>6.1f} {statistics.median(ds):>9.1f} "
        f"{p90:>6.1f} {max(ds):>6.1f}  "
        f"{'yes' if max(ds) <= target and d['notified'] == d['n'] else 'NO'}"
    )
    print(
        "  sweeps that raised them (notification.created_at): "
        + ", ".join(f"{m:%H:%M:%S}" for m in d["sweep_moments"])
        + (f"; gaps {', '.join(f'{g:.1f}' for g in d['gaps'])} s" if d["gaps"] else "")
    )
    if d["worker_sweeps"]:
        print(
            "  worker log, sla_sweep runs (seconds, raised): "
            + ", ".join(f"{float(s):.2f} s/{n}" for s, n in d["worker_sweeps"])
        )
    print(f"  load average at the end {d['load']:.2f}")


if __name__ == "__main__":
    main()
