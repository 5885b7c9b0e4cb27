#!/usr/bin/env python
"""The hot paths at 1M and at 10M leads (issue 16, item 6): one command builds a database per
size and measures the queue, Take next, the intake, the SLA sweep, the search and the reports
in each, then prints both sizes side by side with the growth ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        nice -n 10 .venv/bin/python bench/scale_bench.py [--sizes 1000000,10000000]
            [--measure-only | --build-only] [--requests 100]

What it does, per size, in a child process of its own (Django is set up once per database):
1. The database `<--db-prefix><size>` (crm_bench_1m, crm_bench_10m; the server and user are
   DATABASE_URL's) is created if missing and migrated. If it already holds a finished build of
   that size it is reused as it is; a build that stopped half-way goes on from its last
   finished step of 1M leads (each step is one transaction).
2. The build, set-based SQL only (imported, not copied): bench/harness.py's world and leads
   (10% open), each lead's contact points and each converted lead's contact (search_bench.py),
   the SLA deadlines with what raising them left (sla_bench.py). The lead search indexes are
   dropped for the load and built again at the end as their migration builds them
   (search_bench.py), then VACUUM ANALYZE, then the reports' roll-ups of every closed day.
3. The measurement (in process, django.test.Client, perf_counter): the queue page and Take
   next as a qualifier of one team (queue_bench.py), one lead through the intake's own path
   (search_bench.py), the SLA sweep of 1,000 due deadlines (sla_bench.py), the search page
   for a whole phone, a whole e-mail and a name (search_bench.py), and the team report for the
   last quarter as a head of one team and of all 11 (report_bench.py). Each child writes its
   figures as JSON; the parent prints one table: p50 / p95 at each size and the ratio of the
   p95s, hot paths over 1.3x marked, reports over 300 ms marked, with `uptime` at the start and
   the end.
--report-data (after step 2, or on a database built before; not with --measure-only) adds what
report_bench.py's seed has and this build lacks, with report_bench.py's own SQL (imported), in
id ranges of 1M leads, each one transaction that records how far it got: every called lead's
reaction_minutes (an UPDATE of builds made before harness.py filled it: it rewrites those lead
rows), each converted lead's deal (stages, closers, amounts, loss reasons) and handoff, the
disputes, four answers of every converted or checked lead, the calls (the first of every called
lead that has an assignee, a second for 35%) and the transition events; then VACUUM ANALYZE and
all roll-ups built again (team, call, person, insight: as `rebuild_rollups --all`). Step 3 then also
times, as a head of all 11 teams unless said: the team report for the last 30 days (today read
live), the API's JSON and the page's CSV for the quarter, the leaderboard (quarter and last 30
days), a qualifier's and a closer's person report (head of 1 + sales) and the insights (quarter
and last 30 days); --call-report adds the call report for the quarter and the last 30 days
(from its roll-ups, reports/call_rollups.py), its API's JSON and its page's CSV for the quarter
and one qualifier's by-day table as the page fetches it (htmx). Before them the roll-ups'
refresh job builds the days closed since the build (untimed, as beat does every five minutes),
and the run prints how many leads today has against the last year's mean day; before each
report case beat's refresh of today's figures runs (reports/today.py; untimed as a request, its
own time printed), as beat runs it every minute.
--measure-only skips step 2 (and stops if a database is not built); --build-only skips step 3.
--explain-today, read-only (no migration, the session refuses writes), times what the reports
compute live for today in each database — the team report's day of every team, the person
roll-ups' and the insights' day — and prints the EXPLAIN (ANALYZE, BUFFERS) of the costliest.
--grow-for MINUTES starts no build step that would end later and finishes what was grown, so a
part-built database is measured as it is (the table names it by what it held) and the next run
goes on. Each size's figures are kept in --results (var/scale_bench/<database>.json), so sizes
measured by separate runs join one table; --table-only prints it again.
The load runs with session_replication_role = replica when the user may (as pg_restore
--disable-triggers): the rows are consistent by construction, and the foreign-key checks Django
defers to COMMIT took minutes per step.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402 - after the path is set

STEP = 1_000_000  # leads per build step: one transaction, the unit a stopped build resumes from
HOT_LIMIT = 1.3
STATE_TABLE = "bench_scale_state"


def size_name(size: int) -> str:
    for unit, div in (("m", 1_000_000), ("k", 1_000)):
        if size % div == 0:
            return f"{size // div}{unit}"
    return str(size)


def database_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="leads in each database")
    parser.add_argument("--db-prefix", default="crm_bench_", help="database = prefix + 1m, 10m")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case")
    parser.add_argument("--report-requests", type=int, default=20, help="timed per report case")
    parser.add_argument("--intake-posts", type=int, default=500, help="leads through the intake")
    parser.add_argument("--sweeps", type=int, default=5, help="timed sweeps")
    parser.add_argument("--due", type=int, default=1000, help="deadlines due per sweep")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--open-share", type=float, default=0.10, help="share of open leads")
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--measure-only", action="store_true", help="measure the built databases")
    mode.add_argument("--build-only", action="store_true", help="build, do not measure")
    mode.add_argument(
        "--table-only", action="store_true", help="print the table of the saved figures"
    )
    parser.add_argument(
        "--results",
        default=str(ROOT / "var" / "scale_bench"),
        help="where each size's figures are kept (JSON per database)",
    )
    parser.add_argument(
        "--grow-for",
        type=float,
        help="minutes: start no build step that would end later; measure what was grown",
    )
    parser.add_argument(
        "--report-data",
        action="store_true",
        help="add deals, handoffs, answers, calls and events for the reports; time every report",
    )
    parser.add_argument(
        "--call-report",
        action="store_true",
        help="with --report-data: time the call report too (quarter, last 30 days)",
    )
    parser.add_argument(
        "--explain-today",
        action="store_true",
        help="read-only: time what the reports read live for today, EXPLAIN the costliest",
    )
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if args.report_data and args.measure_only:
        parser.error("--report-data writes the report rows: run it without --measure-only")
    args.no_wait = True  # the machine is shared: measure now, record the load instead
    return args


# --------------------------------------------------------------------------- build state


def state_get(key: str) -> str | None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key text PRIMARY KEY, value text)")
        cur.execute(f"SELECT value FROM {STATE_TABLE} WHERE key = %s", [key])
        row = cur.fetchone()
    return row[0] if row else None


def state_set(key: str, value) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {STATE_TABLE} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [key, str(value)],
        )


# --------------------------------------------------------------------------- build


def finished_at() -> int:
    """The leads count at which the build last finished (indexes, VACUUM, roll-ups): 0 if
    never; only then, and while nothing was grown since, can the database be measured."""
    return int(state_get("finished") or state_get("built") or 0)


def grown_to() -> int:
    return int(state_get("grown") or 0)


def build(world: dict, size: int, args) -> None:
    """Grow to `size` leads in steps of STEP, each one transaction, resuming after the last
    finished step; with --grow-for, start no step that would end past that many minutes, and
    finish what was grown (it can be measured; the next run goes on)."""
    from django.db import connection, transaction

    from bench import search_bench, sla_bench

    grown = grown_to()
    if grown >= size and finished_at() == grown:
        print(f"  built before: {grown:,} leads, reused")
        return
    if grown == 0:
        sla_bench.clear_all(world)
        state_set("load_now", datetime.now().astimezone().isoformat())
        state_set("next_window", 0)
    load_now = datetime.fromisoformat(state_get("load_now") or "")
    print(f"  building {size:,} leads from {grown:,} (the clock of the load: {load_now})")
    pool = harness.pools()
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cur.fetchone()[0]
    started, last_step = time.perf_counter(), 0.0
    budget = args.grow_for * 60 if args.grow_for else float("inf")
    while grown < size and time.perf_counter() - started + last_step <= budget:
        # GIN search indexes grow slowly row by row: dropped for the load, built at the end
        search_bench.drop_lead_indexes()
        state_set("finished", 0)
        upto = min(size, grown + STEP)
        t0 = time.perf_counter()
        with transaction.atomic():
            with connection.cursor() as cur:
                if superuser:
                    # The rows are consistent by construction; the foreign-key checks Django
                    # defers to COMMIT cost minutes per step (pg_restore --disable-triggers)
                    cur.execute("SET LOCAL session_replication_role = replica")
                cur.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
                after = cur.fetchone()[0]
            harness.grow_leads(world, pool, grown + 1, upto + 1, args, load_now)
            with connection.cursor() as cur:
                cur.execute(search_bench.POINTS_SQL, {"after": after})
                points = cur.rowcount
                cur.execute(search_bench.CONTACTS_SQL, {"after": after, "team": world["sales"].id})
                contact_points = cur.rowcount
                cur.execute("SELECT max(id) FROM leads_lead")
                last = cur.fetchone()[0]
            print(f"    contact points {points:,}, contacts' points {contact_points:,}")
            sla_bench.add_deadlines(after, last, load_now)
            state_set("grown", upto)
        grown, last_step = upto, time.perf_counter() - t0
        print(
            f"  step to {upto:,} leads: {last_step:.0f} s "
            f"(total {time.perf_counter() - started:.0f} s; {disk_free()})",
            flush=True,
        )
    if grown < size:
        print(f"  --grow-for {args.grow_for} min: stopped at {grown:,} leads (a run goes on)")
    if finished_at() != grown:
        finish(world)
        state_set("finished", grown)
    print(harness.table_summary(world))
    print(sla_bench.deadline_summary())


def finish(world: dict) -> None:
    """What the load leaves to do once: the search indexes, VACUUM ANALYZE, the roll-ups."""
    from django.db import connection

    from bench import search_bench, sla_bench
    from reports import rollups

    t0 = time.perf_counter()
    search_bench.rebuild_lead_indexes()
    print(f"  search indexes built in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    sla_bench.vacuum_all()
    with connection.cursor() as cur:
        for table in ("leads_leadcontactpoint", "deals_contact", "deals_contactpoint"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  VACUUM ANALYZE {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    teams = [*world["teams"], world["sales"]]
    days = rollups.refresh(teams, everything=True)["days"]
    print(f"  roll-ups: {days:,} team-days in {time.perf_counter() - t0:.0f} s", flush=True)


# --------------------------------------------------------------------------- report data

# A called lead's reaction: the minutes from its arrival to its first call (the teams work
# round the clock). harness.py fills it since this step was written; older builds lack it.
REACTION_SQL = """
UPDATE leads_lead
   SET reaction_minutes = round((extract(epoch FROM first_attempt_at - created_at) / 60)::numeric,
                                2)::float8
 WHERE id > %(lo)s AND id <= %(hi)s AND reaction_minutes IS NULL
   AND first_attempt_at IS NOT NULL
"""

# report_bench.py's calls by each lead's assignee: an open lead put back after a call
# (harness.py's "retry") has none, and a call needs its caller, so such a lead gets no call.
ASSIGNED_LEADS = "(SELECT * FROM leads_lead WHERE assignee_id IS NOT NULL)"


def report_params(world: dict) -> dict:
    """report_bench.py's statements' parameters for this build's world: 10 qualification teams
    handing off to one sales team of N_CLOSERS closers."""
    from django.contrib.auth.models import User

    from bench import report_bench
    from deals.models import LossReason

    losses = []
    for order, (name, slug) in enumerate(report_bench.LOSS_REASONS):
        loss, _ = LossReason.objects.get_or_create(
            slug=slug, defaults={"name": name, "order": order}
        )
        losses.append(loss.pk)
    closers = list(
        User.objects.filter(username__startswith=f"{harness.BENCH_PREFIX}closer-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    teams = harness.bench_team_ids(world)
    return {
        "teams": teams,
        "sales_for": [world["sales"].pk] * len(teams),
        "sales_pos": [1] * len(teams),
        "closers": [closers],
        "closers_per_team": len(closers),
        "losses": losses,
        "n_losses": len(losses),
        "head": world["head"].pk,
        "now": datetime.fromisoformat(state_get("load_now") or ""),
    }


def add_report_data(world: dict) -> None:
    """What report_bench.py seeds and the build lacks, for the leads not done yet, in id
    ranges of STEP leads (one transaction each, resumed after the last); then the roll-ups."""
    from django.db import connection, transaction

    from bench import report_bench

    t = report_bench.tables()
    statements = [
        ("reaction minutes", REACTION_SQL, "lead"),
        ("deals", report_bench.DEALS_SQL, "deal"),
        ("handoffs", report_bench.HANDOFFS_SQL, "handoff"),
        ("disputes", report_bench.DISPUTES_SQL, "dispute"),
        ("answers", report_bench.ANSWERS_SQL, "answer"),
        ("calls", report_bench.ATTEMPTS_SQL.replace("{lead}", ASSIGNED_LEADS), "attempt"),
        ("transition events", report_bench.EVENTS_SQL, "event"),
    ]
    params = report_params(world)
    done = int(state_get("report_data") or 0)
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
        last = cur.fetchone()[0]
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cur.fetchone()[0]
    print(f"  report data: leads {done:,} .. {last:,} to do", flush=True)
    started, added = time.perf_counter(), 0
    for lo in range(done, last, STEP):
        hi = min(last, lo + STEP)
        t0 = time.perf_counter()
        parts = []
        with transaction.atomic(), connection.cursor() as cur:
            if superuser:  # as the build: the rows are consistent by construction
                cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("SET LOCAL synchronous_commit = off")
            for what, statement, table in statements:
                t1 = time.perf_counter()
                cur.execute(statement.format(**t), {**params, "lo": lo, "hi": hi})
                n = cur.rowcount
                if table != "lead":
                    added += n
                if lo == done:
                    # statistics for the next statements' joins (an empty table's plan is a
                    # nested loop over all of it)
                    cur.execute(f"ANALYZE {t[table]}")
                parts.append(f"{what} {n:,} {time.perf_counter() - t1:.0f} s")
            state_set("report_data", hi)
        print(
            f"    ids {lo + 1:>10,} .. {hi:>10,}: {time.perf_counter() - t0:5.0f} s "
            f"({'; '.join(parts)}; {disk_free()})",
            flush=True,
        )
    if added or state_get("report_rollups") != str(last):
        t0 = time.perf_counter()
        for key in ("lead", "deal", "handoff", "dispute", "answer", "attempt", "event"):
            with connection.cursor() as cur:
                cur.execute(f"VACUUM (ANALYZE) {t[key]}")
        print(f"  report data: VACUUM ANALYZE {time.perf_counter() - t0:.0f} s", flush=True)
        build_report_rollups(world)
        state_set("report_rollups", last)
    print(
        f"  report data: {added:,} rows in {time.perf_counter() - started:.0f} s; "
        + report_bench.table_sizes().strip(),
        flush=True,
    )


def build_report_rollups(world: dict) -> None:
    """Every roll-up from nothing, as `manage.py rebuild_rollups --all`: the team days built
    before the deals were added counted none."""
    from django.db import connection

    from bench import report_bench
    from reports import call_rollups, insight_rollups, person_rollups, rollups

    t = report_bench.tables()
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE "
            + ", ".join(
                t[k]
                for k in (
                    "team_day",
                    "dirty_day",
                    "person_day",
                    "person_built",
                    "person_dirty",
                    "insight_day",
                    "insight_built",
                    "insight_dirty",
                )
            )
        )
    t0 = time.perf_counter()
    days = rollups.refresh([*world["teams"], world["sales"]], everything=True)["days"]
    print(f"  roll-ups: {days:,} team-days in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    days = person_rollups.refresh(everything=True)["person_days"]
    print(
        f"  person roll-ups: {days:,} person-days in {time.perf_counter() - t0:.0f} s", flush=True
    )
    t0 = time.perf_counter()
    days = insight_rollups.refresh(everything=True)["insight_days"]
    print(f"  insight roll-ups: {days:,} days in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    days = call_rollups.refresh(world["teams"], everything=True)["call_days"]
    print(f"  call roll-ups: {days:,} team-days in {time.perf_counter() - t0:.0f} s", flush=True)


def disk_free() -> str:
    st = os.statvfs("/")
    free = st.f_bavail * st.f_frsize / 1e9
    if free < 20:
        sys.exit(f"only {free:.0f} GB free on /: stopped")
    return f"{free:.0f} GB free"


# --------------------------------------------------------------------------- child


def explain_today() -> None:
    """--explain-today, read-only (the session refuses writes; no migration): what the reports
    compute live for today — the team report's day of all teams, the leaderboard's and person
    report's day of everybody, the insights' day — timed, with its statements by time and the
    plans of the costliest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from crm.teams.models import Team
    from reports import insight_rollups, person_rollups, rollups

    with connection.cursor() as cur:
        cur.execute("SET default_transaction_read_only = on")
    today = timezone.localdate()
    teams = list(Team.objects.all())
    parts = [
        (f"team report, {len(g)} {g[0].kind} team(s) {g[0].time_zone}", rollups.day_figures, (g,))
        for g in rollups.groups(teams)
    ]
    parts += [
        (f"person, {z.key}", person_rollups.day_figures, (z,)) for z in person_rollups.zones()
    ]
    parts += [
        (f"insights, {z.key}", insight_rollups.day_figures, (z,)) for z in person_rollups.zones()
    ]
    slow = []
    print(f"today {today}, live ({uptime()})")
    for what, compute, first in parts:
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            compute(*first, [today])
            ms = (time.perf_counter() - t0) * 1000
        statements = sorted(
            ((float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries), reverse=True
        )
        print(f"  {what:<48} {ms:8.1f} ms, {len(statements)} statements", flush=True)
        for q_ms, sql in statements[:3]:
            print(f"      {q_ms:8.1f} ms  {' '.join(sql.split())[:110]}")
        slow += [(q_ms, what, sql) for q_ms, sql in statements[:2]]
    for q_ms, what, sql in sorted(slow, reverse=True)[:3]:
        print(f"\n--- {what}: {q_ms:.0f} ms; EXPLAIN (ANALYZE, BUFFERS)\n{' '.join(sql.split())}")
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            print("\n".join(row[0] for row in cur.fetchall()))


def child(args) -> None:
    size = args.child
    url = os.environ["DATABASE_URL"]
    if args.explain_today:
        harness.django_setup()
        explain_today()
        return
    from bench import sla_bench

    # the sweep's deliveries go to a throw-away queue (emptied after), as in sla_bench.py
    os.environ.setdefault("REDIS_URL", sla_bench.DEFAULT_REDIS)
    os.environ.setdefault("CELERY_QUEUE", sla_bench.TIMING_QUEUE)
    created = harness.ensure_database(url)
    print(f"database {harness.server_params(url)[0]}: {'created' if created else 'exists'}")
    harness.django_setup()
    harness.migrate_and_collect()
    world = harness.make_world()
    sla_bench.prepare_world(world)
    if args.measure_only:
        if not finished_at() or finished_at() != grown_to():
            sys.exit(f"{harness.server_params(url)[0]} is not built: run without --measure-only")
        if grown_to() < size:
            print(f"  only {grown_to():,} of {size:,} leads built: measured as they are")
    else:
        build(world, size, args)
        if args.report_data:
            add_report_data(world)
    if args.build_only:
        return
    figures = measure(world, size, args)
    Path(args.json).write_text(json.dumps(figures))


# The rows of the table, in order: key, what, hot path (held to HOT_LIMIT).
CASES = [
    ("queue", "queue page GET /leads/ (qualifier, 1 team)", True),
    ("take_next", "Take next POST /leads/take-next/", True),
    ("intake", "intake, one lead (clean + lead_receive)", True),
    ("sweep", "SLA sweep, 1,000 due (--due), random leads", True),
    ("sweep_newest", "SLA sweep, 1,000 due, the newest leads", True),
    # bench/sweep_scale_bench.py only: the random leads' sweep once the leads are in the cache
    ("sweep_prewarmed", "SLA sweep, random leads, leads prewarmed", True),
    ("search_phone", "search /search/, whole phone", True),
    ("search_email", "search /search/, whole e-mail", True),
    ("search_name", "search /search/, name and surname", True),
    ("report_team", "team report, quarter (head of 1 + sales)", False),
    ("report_all", "team report, quarter (head of all 11)", False),
    # with --report-data (the rows they read): each under 300 ms p95 (issue 16.2)
    ("report_all_30", "team report, last 30 days (all 11)", False),
    ("report_api", "team report API JSON, quarter (all 11)", False),
    ("report_csv", "team report page CSV, quarter (all 11)", False),
    ("board_all", "leaderboard, quarter (all 11)", False),
    ("board_30", "leaderboard, last 30 days (all 11)", False),
    ("person_q", "person report, quarter (qualifier)", False),
    ("person_c", "person report, quarter (closer)", False),
    ("insights_q", "insights, quarter (all 11)", False),
    ("insights_30", "insights, last 30 days (all 11)", False),
    ("calls_all", "call report, quarter (all 11)", False),
    ("calls_30", "call report, last 30 days (all 11)", False),
    ("calls_api", "call report API JSON, quarter (all 11)", False),
    ("calls_csv", "call report page CSV, quarter (all 11)", False),
    ("calls_days", "call report, a qualifier's days (htmx)", False),
]
REPORT_TARGET_MS = 300.0

SEARCH_KINDS = {
    "search_phone": "phone, whole",
    "search_email": "e-mail, whole",
    "search_name": "name and surname",
}


def figures(total: list[float], sql: list[float] | None = None) -> dict:
    return {
        "p50": harness.pct(total, 0.5),
        "p95": harness.pct(total, 0.95),
        "sql_p95": harness.pct(sql, 0.95) if sql else None,
        "n": len(total),
        "load": os.getloadavg()[0],
    }


def measure(world: dict, size: int, args) -> dict:
    """Every case of CASES once, in process; the figures and the EXPLAIN of each main query."""
    from bench import queue_bench

    out: dict = {"size": size, "leads": grown_to(), "cases": {}, "explain": {}}
    out["uptime_start"] = uptime()
    print(f"  measuring ({out['uptime_start']})", flush=True)
    qualifier = harness.logged_in(world["bench_user"])
    for kind in ("queue", "take_next"):
        r = queue_bench.run_endpoint(qualifier, kind, args.requests, args.warmup)
        out["cases"][kind] = figures(r["total"], r["sql"])
        sql = queue_bench.main_query(kind, r["captured"])
        if sql:
            out["explain"][kind] = harness.explain(sql)[1]
        show(kind, out["cases"][kind])
    measure_intake(world, args, out)
    measure_sweep(args, out, "sweep")
    measure_sweep(args, out, "sweep_newest", newest=True)
    measure_search(world, qualifier, args, out)
    measure_reports(world, args, out)
    out["summary"] = harness.table_summary(world)
    out["uptime_end"] = uptime()
    return out


def show(key: str, f: dict) -> None:
    what = {k: w for k, w, _hot in CASES}[key]
    sql = f" (SQL p95 {f['sql_p95']:.1f} ms)" if f.get("sql_p95") is not None else ""
    print(
        f"    {what:<44} p50 {f['p50']:8.1f} ms  p95 {f['p95']:8.1f} ms{sql}  n {f['n']}  "
        f"load {f['load']:.2f}",
        flush=True,
    )


def measure_intake(world: dict, args, out: dict) -> None:
    from bench import search_bench

    source = search_bench.intake_source(world)
    rng = random.Random(size_seed(out["size"]))
    label = f"scale{int(time.time())}-"  # e-mails new on every run: no duplicate matching
    search_bench.time_intake(source, args.warmup, rng, label + "w")
    times = search_bench.time_intake(source, args.intake_posts, rng, label)
    out["cases"]["intake"] = figures(times)
    show("intake", out["cases"]["intake"])


def measure_sweep(args, out: dict, key: str, newest: bool = False) -> None:
    """sla_bench.py's timing: windows of 30 s an hour before the load, each with 1,000
    pending deadlines moved into it; every run uses windows no run used before. The
    deadlines are drawn from all leads, or (`newest`) are those of the newest leads: a
    sweep's writes then land where production's do, at the recent end of the indexes, rather
    than on pages spread over the whole table."""
    from bench import sla_bench

    load_now = datetime.fromisoformat(state_get("load_now") or "")
    base, far = load_now - timedelta(hours=1), load_now + timedelta(hours=12)
    first = int(state_get("next_window") or 0)
    sla_bench.DUE_PER_SWEEP = args.due  # sla_bench.py's own setting, 1,000 as the issue says
    windows = 1 + args.sweeps + 1  # warm-up, timed, EXPLAIN
    sla_bench.place_due_windows(base, first, windows, far, newest)
    state_set("next_window", first + windows)
    sla_bench.timed_sweep(sla_bench.window_end(base, first))
    runs = [
        sla_bench.timed_sweep(sla_bench.window_end(base, first + 1 + k)) for k in range(args.sweeps)
    ]
    explain_at = sla_bench.window_end(base, first + windows - 1)
    out["explain"][key] = sla_bench.explain_claim(explain_at)[2]
    from crm.deadlines.sweep import sweep as sla_sweep

    sla_sweep(now=explain_at)  # the EXPLAIN was rolled back: raise that window too
    sla_bench.drop_queue_keys(os.environ["REDIS_URL"], os.environ["CELERY_QUEUE"])
    out["cases"][key] = figures([r["ms"] for r in runs], [r["sql_ms"] for r in runs])
    show(key, out["cases"][key])


def measure_search(world: dict, client, args, out: dict) -> None:
    from bench import search_bench

    rng = random.Random(size_seed(out["size"]))
    drawn = search_bench.queries([world["teams"][0].id], args.requests, rng)
    for key, kind in SEARCH_KINDS.items():
        r = search_bench.time_case(client, "/search/", drawn[kind], args.warmup)
        out["cases"][key] = figures(r["total"], r["sql"])
        # One statement per window of arrival the search needed.
        statements = search_bench.lead_sql(client, drawn[kind][0])
        if statements:
            out["explain"][key] = "\n\n".join(harness.explain(sql)[1] for sql in statements)
        show(key, out["cases"][key])


def measure_reports(world: dict, args, out: dict) -> None:
    """The reports as report_bench.py times them (`run_case`): the team report for the last
    quarter as a head of 1 + sales and of all 11; with the report data, every other report."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from bench import report_bench
    from crm.teams.models import Role

    other, _ = User.objects.get_or_create(username=f"{harness.BENCH_PREFIX}head-2")
    other.groups.add(Group.objects.get(name=Role.SALES_HEAD))
    heads = {
        "teams": world["teams"],
        "sales": [world["sales"]],
        "head": world["head"],
        "other_head": other,
    }
    first, last = report_bench.last_quarter(timezone.localdate())
    quarter = f"from={first:%Y-%m-%d}&to={last:%Y-%m-%d}"
    cases = [
        ("report_team", "one", f"/reports/?{quarter}"),
        ("report_all", "all", f"/reports/?{quarter}"),
    ]
    if state_get("report_data"):
        refresh_rollups(world, out)
        qualifier = world["assignable"][0][0]  # the measured bench_user has no seeded leads
        closer = (
            User.objects.filter(username__startswith=f"{harness.BENCH_PREFIX}closer-")
            .order_by("pk")
            .first()
        )
        cases += [
            ("report_all_30", "all", "/reports/"),
            ("report_api", "all", f"/api/v1/reports/teams/?{quarter}"),
            ("report_csv", "all", f"/reports/?format=csv&{quarter}"),
            ("board_all", "all", f"/reports/leaderboard/?{quarter}"),
            ("board_30", "all", "/reports/leaderboard/"),
            ("person_q", "one", f"/reports/people/{qualifier}/?{quarter}"),
            ("person_c", "one", f"/reports/people/{closer.pk}/?{quarter}"),
            ("insights_q", "all", f"/reports/insights/?{quarter}"),
            ("insights_30", "all", "/reports/insights/"),
        ]
        if args.call_report:
            # From its roll-ups since 2026-12-01 (the raw calls took 13 s at 200,000 leads).
            cases.append(("calls_all", "all", f"/reports/calls/?{quarter}"))
            cases.append(("calls_30", "all", "/reports/calls/"))
            cases.append(("calls_api", "all", f"/api/v1/reports/calls/?{quarter}"))
            cases.append(("calls_csv", "all", f"/reports/calls/?format=csv&{quarter}"))
            days = f"team={world['teams'][0].pk}&qualifier={qualifier}"
            cases.append(("calls_days", "all", f"/reports/calls/days/?{quarter}&{days}"))
    requests: dict[str, int] = {}
    out.setdefault("report_sql", {})
    try:
        for key, mode, url in cases:
            if state_get("report_data"):
                refresh_today(out)  # as beat does every minute: each case takes less
            report_bench.set_managers(heads, mode)
            client = harness.logged_in(world["head"])
            if key == "calls_days":  # as htmx asks for it: the table alone
                client.defaults["HTTP_HX_REQUEST"] = "true"
            r = report_bench.run_case(client, url, requests.get(key, args.report_requests), 2)
            out["cases"][key] = figures(r["total"], r["sql"])
            out["cases"][key]["queries"] = r["counts"][-1]
            out["report_sql"][key] = sql_by_kind(r)
            show(key, out["cases"][key])
            if out["cases"][key]["p95"] >= REPORT_TARGET_MS:
                # where the time goes: the SQL by kind of query, and the slowest query's plan
                for ms, count, name in out["report_sql"][key][:5]:
                    print(f"      SQL {ms:8.1f} ms  x{count:<3} {name}")
                worst = max(
                    ((sql, times) for sql, times in r["per_query"].items() if "SELECT" in sql),
                    key=lambda kv: sum(kv[1]),
                )
                out["explain"][key] = harness.explain(worst[0])[1]
    finally:
        report_bench.set_managers(heads, "all")


def sql_by_kind(r: dict) -> list:
    """A report's SQL time per request by kind of query (report_bench.label), the median over
    the requests, largest first: [(ms, queries of that kind, kind)]."""
    import statistics

    names = {name for groups in r["by_label"] for name in groups}
    rows = []
    for name in names:
        found = [groups.get(name, [0, 0.0]) for groups in r["by_label"]]
        rows.append((statistics.median(ms for _n, ms in found), max(n for n, _ms in found), name))
    return sorted(rows, reverse=True)


def refresh_rollups(world: dict, out: dict) -> None:
    """The roll-ups' refresh job, untimed, as beat runs it every five minutes: the days closed
    since the build are built, so only today is read live. Records how many leads today has
    (read live by the last-30-days views) against the year's mean day."""
    from django.db import connection
    from django.utils import timezone

    from reports import call_rollups, insight_rollups, person_rollups, rollups
    from reports.periods import Period

    t0 = time.perf_counter()
    written = rollups.refresh([*world["teams"], world["sales"]])["days"]
    written += person_rollups.refresh()["person_days"]
    written += insight_rollups.refresh()["insight_days"]
    # A database built before the call roll-ups existed gets all of them here.
    written += call_rollups.refresh(world["teams"])["call_days"]
    today = Period(timezone.localdate(), timezone.localdate(), world["teams"][0].zone)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE created_at >= %s), count(*) FILTER (WHERE created_at "
            ">= %s::timestamptz - interval '365 days') / 365 FROM leads_lead",
            [today.start, today.start],
        )
        out["leads_today"], out["leads_mean_day"] = cur.fetchone()
    print(
        f"  roll-ups refreshed: {written:,} days built in {time.perf_counter() - t0:.0f} s; "
        f"{out['leads_today']:,} leads today (read live), a mean day of the last year "
        f"{out['leads_mean_day']:,}",
        flush=True,
    )


def refresh_today(out: dict) -> None:
    """Beat's refresh of today's figures (reports/today.py), untimed as a request: the
    last-30-days views read what it kept. Its own time is recorded (beat pays it each minute)."""
    from reports import tasks

    t0 = time.perf_counter()
    tasks.refresh_today()
    out.setdefault("refresh_today_ms", []).append(round((time.perf_counter() - t0) * 1000, 1))
    print(f"  today's figures refreshed in {out['refresh_today_ms'][-1]:,.0f} ms", flush=True)


def size_seed(size: int) -> int:
    return 2026 + size


# --------------------------------------------------------------------------- parent


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base and not args.table_only:
        sys.exit("Set DATABASE_URL (its server and user are used; the database names are ours)")
    if base:
        harness.server_params(base)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    uptime_start = uptime()
    print(f"start: {uptime_start}")
    for size in [] if args.table_only else args.sizes:
        name = f"{args.db_prefix}{size_name(size)}"
        print(f"\n== {size:,} leads in {name}", flush=True)
        command = [sys.executable, __file__, *sys.argv[1:], "--child", str(size)]
        command += ["--json", str(results_dir / f"{name}.json")]
        env = {**os.environ, "DATABASE_URL": database_url(base, name), "PYTHONUNBUFFERED": "1"}
        done = subprocess.run(command, env=env, check=False)
        if done.returncode:
            sys.exit(f"the run at {size:,} failed ({done.returncode})")
    uptime_end = uptime()
    print(f"\nend: {uptime_end}")
    # every size's latest figures, also those measured by an earlier run (each says when)
    results = {}
    for size in args.sizes:
        saved = results_dir / f"{args.db_prefix}{size_name(size)}.json"
        if saved.exists():
            results[size] = json.loads(saved.read_text())
    if results and not args.build_only and not args.explain_today:
        print_table(results, uptime_start, uptime_end)


def uptime() -> str:
    # in UTC: Django set TZ to the project's zone in the child
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False, env=env)
    return done.stdout.strip()


def print_table(results: dict, start: str, end: str) -> None:
    """Both sizes side by side; the ratio is of the p95s (largest size / smallest)."""
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    # a database measured before its build reached the size is named by what it held
    names = [size_name(round(results[s].get("leads", s), -5) or s).upper() for s in sizes]
    head = f"{'measurement':<46}" + "".join(f"{n + ' p50':>10}{n + ' p95':>10}" for n in names)
    head += f"{'ratio':>8}  {'SQL ratio':>9}  hot path"
    held = [results[s].get("leads", s) for s in (small, large)]
    print(f"\nServer time in ms, in process; ratio = p95 at {held[1]:,} / p95 at {held[0]:,} leads")
    print(head)
    print("-" * len(head))
    over = []
    for key, what, hot in CASES:
        rows = [results[s]["cases"].get(key) for s in sizes]
        if not all(rows):
            continue
        cells = "".join(f"{r['p50']:>10.1f}{r['p95']:>10.1f}" for r in rows)
        ratio = rows[-1]["p95"] / rows[0]["p95"]
        sql = (
            f"{rows[-1]['sql_p95'] / rows[0]['sql_p95']:>8.2f}x"
            if rows[0]["sql_p95"] and rows[-1]["sql_p95"]
            else f"{'':>9}"
        )
        flag = ""
        if hot:
            flag = "OVER 1.3x" if ratio > HOT_LIMIT else "flat"
            if ratio > HOT_LIMIT:
                over.append(key)
        elif key.startswith(("report", "board", "person", "insights", "calls")):
            slow = max(r["p95"] for r in rows) >= REPORT_TARGET_MS
            flag = f"OVER {REPORT_TARGET_MS:.0f} ms" if slow else f"< {REPORT_TARGET_MS:.0f} ms"
            if slow:
                over.append(key)
        print(f"{what:<46}{cells}{ratio:>7.2f}x  {sql}  {flag}")
    for s in sizes:
        r = results[s]
        print(f"\n{s:,}: {r['summary'].strip()}")
        if "leads_today" in r:
            print(
                f"  today (read live by the last-30-days reports): {r['leads_today']:,} leads; "
                f"a mean day of the last year {r['leads_mean_day']:,}"
            )
        print(f"  load while measuring: {r['uptime_start']}  ->  {r['uptime_end']}")
    print(f"\nuptime at the start: {start}\nuptime at the end:   {end}")
    for key in over:
        for s in sorted({small, large}):
            plan = results[s]["explain"].get(key)
            if plan:
                print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) {key} at {s:,} leads\n{plan}")


if __name__ == "__main__":
    main()
