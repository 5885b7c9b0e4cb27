#!/usr/bin/env python
"""Server time of the deal board, its "Show more" and the lead page's timeline on PostgreSQL,
at growing numbers of deals (issue 16.4: p95 under 50 ms at 100k deals and at 1M).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_board \\
        .venv/bin/python bench/board_bench.py [--sizes 100000,1000000] [--requests 30] [--keep]

What it does:
1. Creates the database if missing, migrates, collects static files (bench/harness.py,
   bench/bench_settings.py: DEBUG off).
2. The harness's world (10 qualification teams, one sales team of 5 closers and its head) and
   deals with set-based SQL (harness.grow_deals): each deal with its converted lead and its
   contact; --open-share (4.8%: ~4,800 open of 100,000, as the issue counts) open, a quarter
   per stage, --pool-share (70%) of the handed-off ones in the pool; the rest won, lost or
   returned. Open deals made in the last 90 days, created_at to the second (ties are common);
   site visits from 10 days ago to 20 days ahead. One lead of the measured qualifier's team with
   1,000 events, and one deal with 1,000 events. VACUUM ANALYZE after each load.
3. In process with django.test.Client (force_login), perf_counter around each request, the SQL
   time and count of queries inside it:
   - GET /deals/ as a closer (the pool and their own deals) and as the sales head (the team's);
   - "Show more" of the Accepted column (the htmx request) as the closer: the second page, and
     a page deep in the column (the cursor of the card at --deep), to show a page costs the same
     wherever it is;
   - GET /leads/<id>/ of the lead with 1,000 events as a qualifier of its team, and its
     "Earlier" request; GET /deals/<id>/ of the deal with 1,000 events as the head.
4. Prints p50 / p95 / max, SQL p50 and queries per request, and at each size
   EXPLAIN (ANALYZE, BUFFERS) of the board's queries on deals_deal and of the timeline query.
Before each timing phase it waits for an idle machine (no pytest or other bench), unless
--no-wait. Without --keep the database is dropped at the end if this run created it.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402 - after the path is set
from bench.harness import explain, pct, wait_idle  # noqa: E402

TARGET_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="total deals at each step")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--open-share", type=float, default=0.048, help="share of open deals")
    parser.add_argument("--pool-share", type=float, default=0.7, help="handed off, in the pool")
    parser.add_argument("--events", type=int, default=1000, help="events of the measured lead")
    parser.add_argument("--deep", type=int, default=500, help="card whose cursor 'deep' uses")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    parser.add_argument("--keep", action="store_true", help="keep the database and its data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the deals a kept run left (one size: what the table holds)",
    )
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    args = parser.parse_args()
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    return args


def add_events(world: dict, now) -> tuple[int, int]:
    """A lead of the measured qualifier's team and a deal, each with `n` events (SQL)."""
    from django.db import connection

    from deals.models import Deal
    from leads import services

    lead = services.lead_create(
        team=world["teams"][0],
        now=now,
        name="Долгая История",
        phone="+79161112233",
        source=world["sources"][0],
    )
    deal = Deal.objects.filter(stage="accepted").order_by("id").first()
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO leads_leadevent (lead_id, actor_id, at, kind, from_state, to_state,
                                            note)
               SELECT %s, %s, %s::timestamptz - (1000 - g) * interval '1 hour', 'claimed',
                      '', '', CASE WHEN g %% 3 = 0 THEN 'Перезвонить после ' || g ELSE '' END
               FROM generate_series(1, %s) AS g""",
            [lead.pk, world["bench_user"].pk, now, world["events"] - 1],
        )
        cur.execute(
            """INSERT INTO deals_dealevent (deal_id, actor_id, at, kind, from_stage, to_stage,
                                            closer_id, note)
               SELECT %s, %s, %s::timestamptz - (1000 - g) * interval '1 hour', 'note', '', '',
                      NULL, 'Заметка ' || g
               FROM generate_series(1, %s) AS g""",
            [deal.pk, world["head"].pk, now, world["events"]],
        )
        cur.execute("ANALYZE leads_leadevent")
        cur.execute("ANALYZE deals_dealevent")
    return lead.pk, deal.pk


def kept(world: dict) -> tuple[int, int, int]:
    """What a kept run left: its number of deals, the lead and the deal with many events."""
    from django.db.models import Count

    from deals.models import Deal
    from leads.models import Lead

    lead = Lead.objects.filter(name="Долгая История").order_by("-id").first()
    deal = Deal.objects.annotate(n=Count("events")).filter(n__gte=world["events"]).first()
    if lead is None or deal is None:
        sys.exit("--reuse: no kept run's data here")
    return Deal.objects.count(), lead.pk, deal.pk


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for table in ("leads_lead", "deals_contact", "deals_deal"):
            cur.execute(f"VACUUM (ANALYZE) {table}")


def summary(world: dict) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*), count(*) FILTER (WHERE stage IN
                      ('handed_off', 'accepted', 'meeting', 'proposal')),
                      count(*) FILTER (WHERE stage = 'handed_off' AND closer_id IS NULL),
                      pg_size_pretty(pg_total_relation_size('deals_deal')),
                      pg_size_pretty(pg_relation_size('deal_board_page'))
               FROM deals_deal"""
        )
        total, open_, pool, size, idx = cur.fetchone()
        cur.execute(
            "SELECT stage, count(*) FROM deals_deal WHERE stage IN "
            "('handed_off', 'accepted', 'meeting', 'proposal') GROUP BY stage ORDER BY stage"
        )
        stages = ", ".join(f"{s} {n:,}" for s, n in cur.fetchall())
    return (
        f"  deals {total:,}, open {open_:,} ({stages}); in the pool {pool:,}; "
        f"deals_deal with indexes {size}, deal_board_page {idx}"
    )


def run_case(client, url: str, n: int, warmup: int, htmx: bool = False) -> dict:
    r = harness.time_gets(client, url, n, warmup, {"HX-Request": "true"} if htmx else None)
    return {**r, "body": r["response"].content.decode()}


def cursor_at(closer, stage: str, position: int) -> str:
    """The cursor of the card at `position` in the closer's column (what its "Show more" at
    that depth would send)."""
    from crm.lib import keyset
    from deals.selectors import COLUMN_ORDER, board_scope

    scope = board_scope(closer, mine_only=True)
    field, descending = COLUMN_ORDER[stage]
    rows = keyset.read(
        scope.deals().filter(stage=stage, team_id__in=scope.team_ids),
        field,
        descending=descending,
        after=None,
        limit=position,
    )
    return keyset.cursor_of(getattr(rows[-1], field), rows[-1].pk)


def show_more_url(body: str, stage: str) -> str:
    found = re.search(rf'hx-get="(/deals/stage/{stage}/\?[^"]+)"', body)
    if not found:
        raise RuntimeError(f"no Show more on the {stage} column")
    return found.group(1).replace("&amp;", "&")


def print_explains(queries: list[tuple[str, str]]) -> None:
    for what, sql in queries:
        ms, plan = explain(sql)
        print(f"\n--- {what}: EXPLAIN (ANALYZE, BUFFERS), {ms:.2f} ms")
        print(re.sub(r"\s+", " ", sql))
        print(plan)


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_bench_board")
    started = time.perf_counter()
    created = harness.ensure_database(url)
    print(f"database {harness.server_params(url)[0]}: {'created' if created else 'exists'}")
    harness.django_setup()
    harness.migrate_and_collect()

    import django
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        cur.execute("SHOW shared_buffers")
        buffers = cur.fetchone()[0]
    print(
        f"PostgreSQL {version} (shared_buffers {buffers}); Django {django.get_version()}; "
        f"DEBUG off; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    world = harness.make_world()
    world["events"] = args.events
    reuse = None
    if args.reuse:
        reuse = kept(world)
        args.sizes = [reuse[0]]
        print(f"--reuse: measuring the {reuse[0]:,} deals in the database")
    else:
        harness.clear_deals(world)
    pool = harness.pools()
    now = timezone.now()
    closer = world["sales"].members.order_by("username").first()
    head = world["head"]
    results, machine, loaded = [], [], 0
    for size in args.sizes:
        print(f"== {size:,} deals")
        t0 = time.perf_counter()
        if reuse:
            size, lead_id, deal_id = reuse
        else:
            with connection.cursor() as cur:
                # grow_deals joins each new lead to its contact by phone, which the partial
                # unique index (phone <> '') cannot serve: unanalysed, the planner nested
                # loops over the team's contacts (quadratic: 20+ min for 100k). Hash it.
                cur.execute("SET enable_nestloop = off")
            harness.grow_deals(world, pool, loaded + 1, size + 1, args, now)
            with connection.cursor() as cur:
                cur.execute("RESET enable_nestloop")
            loaded = size
            if not results:
                lead_id, deal_id = add_events(world, now)
            vacuum()
            print(f"  loaded in {time.perf_counter() - t0:.1f} s")
        print(summary(world))
        machine.append(wait_idle(f"board at {size:,}", args))

        as_closer, as_head = harness.logged_in(closer), harness.logged_in(head)
        as_qualifier = harness.logged_in(world["bench_user"])
        step: dict = {"size": size, "runs": {}}
        board_c = run_case(as_closer, "/deals/", args.requests, args.warmup)
        board_h = run_case(as_head, "/deals/", args.requests, args.warmup)
        more = show_more_url(board_c["body"], "accepted")
        deep = re.sub(r"after=[^&]+", "after=" + cursor_at(closer, "accepted", args.deep), more)
        lead_page = run_case(as_qualifier, f"/leads/{lead_id}/", args.requests, args.warmup)
        earlier = re.search(r'hx-get="(/leads/\d+/timeline/[^"]+)"', lead_page["body"])
        if not earlier:
            raise RuntimeError("the lead page has no Earlier button")
        cases = [
            ("board", f"closer {closer.username}", board_c),
            ("board", f"head {head.username}", board_h),
            (
                "show more",
                "closer, Accepted page 2",
                run_case(as_closer, more, args.requests, args.warmup, htmx=True),
            ),
            (
                "show more",
                f"closer, Accepted at card {args.deep}",
                run_case(as_closer, deep, args.requests, args.warmup, htmx=True),
            ),
            (
                "show more",
                "head, Accepted page 2",
                run_case(
                    as_head,
                    show_more_url(board_h["body"], "accepted"),
                    args.requests,
                    args.warmup,
                    htmx=True,
                ),
            ),
            ("lead page", f"{args.events:,} events, qualifier", lead_page),
            (
                "earlier",
                "lead timeline page 2",
                run_case(
                    as_qualifier,
                    earlier.group(1).replace("&amp;", "&"),
                    args.requests,
                    args.warmup,
                    htmx=True,
                ),
            ),
            (
                "deal page",
                f"{args.events:,} events, head",
                run_case(as_head, f"/deals/{deal_id}/", args.requests, args.warmup),
            ),
        ]
        counts = {
            m.group(1): m.group(2)
            for m in re.finditer(r'id="column-(\w+)" data-count="([\d+]+)"', board_c["body"])
        }
        print(f"  the closer's columns count {counts}")
        for what, who, r in cases:
            print(
                f"  {what:<10} {who:<34} p50 {pct(r['total'], 0.5):6.1f} ms  p95 "
                f"{pct(r['total'], 0.95):6.1f} ms  max {max(r['total']):6.1f} ms  SQL p50 "
                f"{pct(r['sql'], 0.5):5.1f} ms  CPU p50 {pct(r['cpu'], 0.5):5.1f} p95 "
                f"{pct(r['cpu'], 0.95):5.1f} ms  {r['counts'][-1]} queries  "
                f"(load {r['load'][0]:.1f}->{r['load'][1]:.1f})",
                flush=True,
            )
        step["cases"] = cases
        results.append(step)

        on_deals = [
            (f"{who}: {q[:60]}", q)
            for what, who, r in cases[:3]
            for q in r["queries"]
            if 'FROM "deals_deal"' in q and what in ("board", "show more")
        ]
        on_deals += [
            ("lead timeline", q) for q in lead_page["queries"] if 'FROM "leads_leadevent"' in q
        ]
        seen, unique = set(), []
        for what, sql in on_deals:
            shape = re.sub(r"\d+", "N", sql)
            if shape not in seen:
                seen.add(shape)
                unique.append((what, sql))
        print_explains(unique)
        print()

    print(
        "Server time per request, in process (django.test.Client; perf_counter around each "
        f"call; {args.requests} timed after {args.warmup} warm-up)"
    )
    head_line = (
        f"{'deals':>10} {'request':<10} {'as':<34} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
        f"{'SQL p50':>7} {'CPU p50':>7} {'CPU p95':>7} {'queries':>7}  p95<{TARGET_MS:.0f}ms"
    )
    print(head_line)
    print("-" * len(head_line))
    for step in results:
        for what, who, r in step["cases"]:
            p95 = pct(r["total"], 0.95)
            print(
                f"{step['size']:>10,} {what:<10} {who:<34} {pct(r['total'], 0.5):>7.1f} "
                f"{p95:>7.1f} {max(r['total']):>7.1f} {pct(r['sql'], 0.5):>7.1f} "
                f"{pct(r['cpu'], 0.5):>7.1f} {pct(r['cpu'], 0.95):>7.1f} "
                f"{r['counts'][-1]:>7}  {'yes' if p95 < TARGET_MS else 'NO'}"
            )
    harness.print_machine(machine)
    connection.close()
    if args.keep:
        print(f"\n--keep: data left in {harness.server_params(url)[0]}")
    elif reuse:
        print("\n--reuse: the data stays")
    elif created:
        harness.drop_database(url)
        print(f"\ndropped database {harness.server_params(url)[0]} (created by this run)")
    else:
        harness.clear_deals(world)
        print("\nremoved the bench deals (the database existed before this run)")
    print(f"total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
