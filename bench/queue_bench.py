#!/usr/bin/env python
"""Server time of the qualifier's queue page and of Take next on PostgreSQL, at growing table
sizes (the issue: p95 under 50 ms at 1,000,000 leads / 100,000 open, and no growth from 100k).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \
        .venv/bin/python bench/queue_bench.py [--sizes 100000,1000000] [--requests 200] [--keep]

What it does:
1. Creates the database if it is missing (connecting to the `postgres` database), runs the
   migrations and collects static files into bench/.staticfiles (DEBUG is forced off).
2. Makes 10 qualification teams (8 qualifiers each, a manager) and 1 sales team (5 closers),
   lead sources and junk reasons with the ORM (a few dozen rows), then loads leads with
   set-based SQL (INSERT ... SELECT over generate_series, seeded random()): for each size the
   table is grown to that many leads, `--open-share` (10%) of them open (new or checked), the
   rest converted (15%) or junk (85%, with a reason). Created_at spreads over 12 months for
   closed leads and over the last 90 days (skewed to recent) for the open backlog; every lead
   has warn_at / breach_at (+15 / +20 min) and due_at; open leads are a mix of never taken,
   claimed (some claims lapsed), called back later (no answer: due_at moved), held callbacks
   and checked. Then VACUUM ANALYZE, as autovacuum would leave a table after a bulk load.
3. Logs in (force_login) as one qualifier of one team and, in process with django.test.Client,
   times with perf_counter (a) GET /leads/ (the full queue page), (b) the poll an open queue
   screen sends every 2 s (htmx, with the digest and last row it shows: 204 when unchanged) and
   (c) POST /leads/take-next/.
   Each Take next really claims a lead: after each timed request the claimed lead is released
   untimed the way "no answer" does it (unassigned, due again in 30 min), so the next request
   claims the next most urgent one. Warm-up requests are not counted.
   With --multi-requests N (default 20; 0 skips) the same two endpoints are also timed for users
   whose queue spans several teams: the sales head (manager of all 10 teams: their landing page
   is the queue) and a qualifier in two teams. Each line prints the load average, because on a
   shared machine other processes inflate the Python part of the figures.
4. Prints p50 / p95 / max of the server time and of the SQL time inside it, the number of SQL
   queries per request, EXPLAIN ANALYZE times of each query on leads, and the full
   EXPLAIN (ANALYZE, BUFFERS) of the page query and the claim query at the largest size.
If the model gains a NOT NULL column without a database default that the loader does not fill,
the script stops and names it (columns it knows as optional are filled when present).
Without --keep the database is dropped at the end if this run created it (otherwise the bench
rows are removed).
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - after the path is set
    N_TEAMS,
    SqlTimer,
    claimed_lead_id,
    clear_leads,
    django_setup,
    drop_database,
    ensure_database,
    explain,
    grow_leads,
    logged_in,
    make_world,
    migrate_and_collect,
    pct,
    pools,
    release_claim,
    server_params,
    table_summary,
    vacuum_analyze,
)

# --------------------------------------------------------------------------- setup


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="total leads at each step")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests first")
    parser.add_argument("--open-share", type=float, default=0.10, help="share of open leads")
    parser.add_argument(
        "--multi-requests",
        type=int,
        default=20,
        help="requests as a sales head (10 teams) and a two-team qualifier; 0 skips them",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and its data")
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if not 0 < args.open_share <= 1:
        parser.error("--open-share must be in (0, 1]")
    return args


# --------------------------------------------------------------------------- data


# One statement per chunk. s1: randoms per row; s2: the row's kind and times; final: columns.
# Open rows are every k-th g (g % k = 0), so each step has exactly its share of open leads.


# Columns added to the model later, filled when the table has them: web-form and API leads
# carry the sender's id and UTM tags, the others leave them blank.


# --------------------------------------------------------------------------- measuring


def run_endpoint(client, kind: str, n: int, warmup: int) -> dict:
    """Time n requests of one kind ("queue" or "take_next") after `warmup` untimed ones."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    poll = {}  # what an open screen sends: the digest and last row of the list it shows

    def request():
        if kind == "queue":
            response = client.get("/leads/")
            if response.status_code != 200:
                raise RuntimeError(f"GET /leads/ returned {response.status_code}")
            return response
        if kind == "poll":
            response = client.get("/leads/", poll, HTTP_HX_REQUEST="true")
            if response.status_code == 200:  # the first poll, or the list changed (a minute)
                html = response.content.decode()
                poll["digest"] = html.split('data-digest="', 1)[1].split('"', 1)[0]
                poll["through"] = html.rsplit('data-cursor="', 1)[1].split('"', 1)[0]
            elif response.status_code != 204:
                raise RuntimeError(f"the queue poll returned {response.status_code}")
            return response
        return client.post("/leads/take-next/")

    def after(response) -> None:
        if kind == "take_next":
            location = response.headers.get("Location", "")
            release_claim(claimed_lead_id(response.status_code, location))

    for _ in range(warmup):
        after(request())
    total, sql = [], []
    counts = set()
    statuses: dict[int, int] = {}
    load_before = os.getloadavg()[0]
    for _ in range(n):
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            t0 = time.perf_counter()
            response = request()
            elapsed = time.perf_counter() - t0
        after(response)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        total.append(elapsed * 1000)
        sql.append(timer.seconds * 1000)
        counts.add(timer.count)
    load_after = os.getloadavg()[0]
    with CaptureQueriesContext(connection) as captured:
        response = request()
    after(response)
    return {
        "total": total,
        "sql": sql,
        "queries": len(captured.captured_queries),
        "query_counts": counts,
        "captured": [q["sql"] for q in captured.captured_queries],
        "load": (load_before, load_after),
        "statuses": statuses,
    }


def is_leads_query(sql: str) -> bool:
    return '"leads_lead"' in sql and not sql.lstrip().upper().startswith("INSERT")


def short(sql: str, width: int = 98) -> str:
    sql = re.sub(r"\s+", " ", sql)
    sql = re.sub(r'"leads_lead"\.', "", sql)
    sql = re.sub(r"SELECT .*? FROM", "SELECT … FROM", sql, count=1)
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def main_query(kind: str, captured: list[str]) -> str | None:
    """The queue's page query, or Take next's claim (SELECT ... FOR UPDATE SKIP LOCKED)."""
    for sql in captured:
        if not is_leads_query(sql):
            continue
        if kind == "queue" and "ORDER BY" in sql and "LIMIT 51" in sql:
            return sql
        if kind == "take_next" and "FOR UPDATE" in sql:
            return sql
    return None


# --------------------------------------------------------------------------- main


def cases(world: dict, args) -> list[dict]:
    """Who requests what. The first two are the issue's measurement; the other two, with fewer
    requests, show the same endpoints for users whose queue spans several teams."""
    one = logged_in(world["bench_user"])
    found = [
        {
            "key": "queue",
            "kind": "queue",
            "client": one,
            "n": args.requests,
            "warmup": args.warmup,
            "label": "GET /leads/",
            "who": "qualifier, 1 team",
        },
        {
            "key": "poll",
            "kind": "poll",
            "client": one,
            "n": args.requests,
            "warmup": args.warmup,
            "label": "GET /leads/ (poll)",
            "who": "qualifier, 1 team",
        },
        {
            "key": "take_next",
            "kind": "take_next",
            "client": one,
            "n": args.requests,
            "warmup": args.warmup,
            "label": "POST /leads/take-next/",
            "who": "qualifier, 1 team",
        },
    ]
    if args.multi_requests:
        found += [
            {
                "key": "queue_head",
                "kind": "queue",
                "client": logged_in(world["head"]),
                "n": args.multi_requests,
                "warmup": 2,
                "label": "GET /leads/",
                "who": f"sales head, {N_TEAMS} teams",
            },
            {
                "key": "take_next_two",
                "kind": "take_next",
                "client": logged_in(world["two_teams_user"]),
                "n": args.multi_requests,
                "warmup": 2,
                "label": "POST /leads/take-next/",
                "who": "qualifier, 2 teams",
            },
        ]
    return found


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_bench")
    started = time.perf_counter()
    created = ensure_database(url)
    print(f"database {server_params(url)[0]}: {'created' if created else 'exists'}")
    django_setup()
    migrate_and_collect()

    import django
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    assert not settings.DEBUG
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
    print(
        f"PostgreSQL {pg_version}; Django {django.get_version()}; DEBUG off; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )

    world = make_world()
    clear_leads(world)
    pool = pools()
    todo = cases(world, args)
    print(
        f"measured as {world['bench_user'].username} (Qualifier, member of "
        f"{world['teams'][0].name} only): {args.requests} timed + {args.warmup} warm-up "
        "requests per endpoint"
    )
    if args.multi_requests:
        print(
            f"also {args.multi_requests} requests as {world['head'].username} (manager of "
            f"{N_TEAMS} qualification teams) and {world['two_teams_user'].username} "
            "(Qualifier in two teams)"
        )
    print()

    now = timezone.now()
    loaded = 0
    results = []
    for size in args.sizes:
        print(f"== {size:,} leads")
        t0 = time.perf_counter()
        grow_leads(world, pool, loaded + 1, size + 1, args, now)
        t_insert = time.perf_counter() - t0
        vacuum_analyze()
        t_load = time.perf_counter() - t0
        loaded = size
        print(f"  loaded in {t_insert:.1f} s, + VACUUM ANALYZE = {t_load:.1f} s")
        print(table_summary(world))
        step = {"size": size, "load_s": t_load, "runs": {}}
        for case in todo:
            t1 = time.perf_counter()
            r = run_endpoint(case["client"], case["kind"], case["n"], case["warmup"])
            step["runs"][case["key"]] = r
            print(
                f"  {case['label']:<22} {case['who']:<20} p50 {pct(r['total'], 0.5):6.1f} ms  "
                f"p95 {pct(r['total'], 0.95):6.1f} ms  max {max(r['total']):6.1f} ms  "
                f"(SQL p95 {pct(r['sql'], 0.95):5.1f} ms, {r['queries']} queries, "
                f"{time.perf_counter() - t1:.1f} s, load {r['load'][0]:.1f}->{r['load'][1]:.1f})",
                flush=True,
            )
        # EXPLAIN ANALYZE of every statement on leads_lead that the requests ran.
        print("  EXPLAIN ANALYZE execution time of each query on leads_lead:")
        step["explain"] = {}
        for case in todo:
            for sql in step["runs"][case["key"]]["captured"]:
                if is_leads_query(sql):
                    ms, plan = explain(sql)
                    step["explain"].setdefault(case["key"], []).append((ms, sql, plan))
                    print(f"    {case['key']:<13} {ms:8.2f} ms  {short(sql)}")
        results.append(step)
        print()

    print_table(results, todo, args)
    last = results[-1]
    shown = set()
    for case in todo:
        sql = main_query(case["kind"], last["runs"][case["key"]]["captured"])
        if sql is None or sql in shown:
            continue
        shown.add(sql)
        what = "the page query" if case["kind"] == "queue" else "the claim query"
        _ms, plan = explain(sql)
        print(
            f"\n--- EXPLAIN (ANALYZE, BUFFERS) at {last['size']:,} leads: {case['label']} "
            f"({case['who']}), {what}"
        )
        print(re.sub(r"\s+", " ", sql))
        print(plan)

    connection.close()
    if args.keep:
        print(f"\n--keep: data left in {server_params(url)[0]}")
    elif created:
        drop_database(url)
        print(f"\ndropped database {server_params(url)[0]} (created by this run)")
    else:
        django_cleanup()
        print("\nremoved the bench leads (the database existed before this run)")
    print(f"total run time {time.perf_counter() - started:.0f} s")


def django_cleanup() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE leads_lead CASCADE")


def print_table(results: list[dict], todo: list[dict], args) -> None:
    target = 50.0
    print("Server time per request, in process (django.test.Client, perf_counter around each call)")
    head = (
        f"{'leads':>10} {'open':>8} {'endpoint':<22} {'as':<20} {'n':>4} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'max ms':>7} {'SQL p50':>7} {'SQL p95':>7} {'queries':>7}  p95<50ms"
    )
    print(head)
    print("-" * len(head))
    for step in results:
        for case in todo:
            r = step["runs"][case["key"]]
            p95 = pct(r["total"], 0.95)
            counts = (
                r["queries"]
                if len(r["query_counts"]) <= 1
                else (f"{min(r['query_counts'])}-{max(r['query_counts'])}")
            )
            print(
                f"{step['size']:>10,} {round(step['size'] * args.open_share):>8,} "
                f"{case['label']:<22} {case['who']:<20} {case['n']:>4} "
                f"{pct(r['total'], 0.5):>7.1f} {p95:>7.1f} {max(r['total']):>7.1f} "
                f"{pct(r['sql'], 0.5):>7.1f} {pct(r['sql'], 0.95):>7.1f} {counts!s:>7}  "
                f"{'yes' if p95 < target else 'NO'}"
            )
    for step in results:
        r = step["runs"]["poll"]
        statuses = r.get("statuses", {})
        # An open queue screen polls every 2 s: 100 screens are 50 polls a second.
        busy = 50 * pct(r["total"], 0.5) / 1000
        print(
            f"100 open queue screens at {step['size']:,} leads: 50 polls/s, "
            f"{busy:.2f} of one CPU core at the poll's p50 "
            f"(one core answers {1000 / pct(r['total'], 0.5):.0f} polls/s); answers {statuses}"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        for case in todo:
            a = pct(first["runs"][case["key"]]["total"], 0.95)
            b = pct(last["runs"][case["key"]]["total"], 0.95)
            print(
                f"{case['label']} ({case['who']}): p95 {a:.1f} ms at {first['size']:,} -> "
                f"{b:.1f} ms at {last['size']:,} ({b / a:.2f}x)"
            )


if __name__ == "__main__":
    main()
