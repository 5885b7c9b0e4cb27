#!/usr/bin/env python
"""Server time of the search (issue 16.1: p95 under 50 ms at 1M and at 10M leads) on
PostgreSQL with its indexes (the words index `lead_team_month_words`, the pg_trgm index of contact
points, the index of their reversed numbers for the last digits), and what those indexes
cost the intake.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_search \
        .venv/bin/python bench/search_bench.py [--sizes 100000,1000000] [--requests 100]
            [--intake-posts 2000] [--keep] [--no-wait]

What it does:
1. Creates the database if missing, migrates (DEBUG off), makes bench/harness.py's world (10
   qualification teams of 8, a sales team of 5 closers, a head of all) and an admin (superuser).
2. For each size grows the leads with the harness's set-based loader (names from a Faker
   ru_RU pool of 3,000 — Cyrillic first names, surnames, patronymics —, phones +7916…, 40%
   with an e-mail, 20% with a company, 10% open), then gives every new lead its contact points
   as the intake stores them (LeadContactPoint: the phone, the e-mail, and a second phone for
   every tenth lead), and every converted lead a contact in the sales team (with its points
   and its company), then VACUUM ANALYZE.
3. Times GET /search/?q=… in process (django.test.Client; the whole page: the query, scoping,
   the three groups, rendering) as a qualifier of one team and as an admin (all teams, also
   the deals and contacts groups), `--requests` each, for queries drawn from the stored
   leads: a whole phone written as people write it ("+7 (916) 123-45-67", "8 916 123 45 67",
   "89161234567"), the last four digits, a name (first name and surname), a surname alone,
   a common surname alone (the most frequent ones of the sample), the first five letters of
   a surname, a whole e-mail, a part of an e-mail; and the API's `GET /api/v1/leads/?q=`
   (its first page of 50, newest first) for both. Prints p50/p95/max of the server time and
   of its SQL, and the EXPLAIN (ANALYZE, BUFFERS) of the page's leads queries of each kind
   at the largest size (a words query sends one per window of arrival it needs; the index
   read is named in each).
4. With --intake-posts N (default 2000; 0 skips): the cost of the indexes to the intake at
   the largest size — N leads stored in process through the intake's own path
   (`intake.clean_fields` + `services.lead_receive`, the one-statement insert with its
   points), with the search indexes, then with the lead's search indexes dropped, then
   with them again (rebuilt as the migration builds them, CONCURRENTLY, timed): per lead
   p50/p95/p99 and mean.
With --measure-only, steps 3 and 4 on the leads a previous --keep run left (to measure again
when the machine is quieter, without loading them again).
Without --keep the database is dropped at the end if this run created it.
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - after the path is set
    SqlTimer,
    clear_leads,
    django_setup,
    drop_database,
    ensure_database,
    explain,
    grow_leads,
    make_world,
    migrate_and_collect,
    pct,
    pools,
    server_params,
    table_summary,
    wait_idle,
)

# The lead's search indexes and the migrations that build them.
LEAD_INDEXES = {
    "lead_team_month_words": "0027_search_team_month_words_index",
    "lead_point_value_trgm": "0021_search_trigram_indexes",
    "lead_phone_reversed": "0034_search_phone_last_digits_covering",
    "lead_team_arrival": "0034_search_phone_last_digits_covering",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="total leads at each step")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--open-share", type=float, default=0.10, help="share of open leads")
    parser.add_argument("--intake-posts", type=int, default=2000, help="0 skips the intake")
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    parser.add_argument("--keep", action="store_true", help="keep the database and its data")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure the leads a previous --keep run left (no loading; --sizes is ignored)",
    )
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    return args


# --------------------------------------------------------------------------- data

POINTS_SQL = """
INSERT INTO leads_leadcontactpoint (lead_id, kind, label, value, ext, raw, position)
SELECT id, 'phone', 'mobile', phone, '', '', 0 FROM leads_lead
 WHERE id > %(after)s AND phone <> ''
UNION ALL
SELECT id, 'phone', 'work', '+7495' || lpad(((id * 7919) %% 10000000)::text, 7, '0'), '', '', 1
  FROM leads_lead WHERE id > %(after)s AND id %% 10 = 3
UNION ALL
SELECT id, 'email', 'other', email, '', '', 0 FROM leads_lead
 WHERE id > %(after)s AND email <> ''
"""

CONTACTS_SQL = """
WITH companies AS (
    INSERT INTO deals_company (team_id, name, created_at)
    SELECT DISTINCT %(team)s::bigint, company_name, now() FROM leads_lead
     WHERE id > %(after)s AND state = 'converted' AND company_name <> ''
       AND NOT EXISTS (SELECT 1 FROM deals_company c
                        WHERE c.team_id = %(team)s AND lower(c.name) = lower(company_name))
    ON CONFLICT DO NOTHING
    RETURNING id
), people AS (
    INSERT INTO deals_contact (team_id, name, phone, email, company_id, created_at)
    SELECT %(team)s, l.name, l.phone, l.email,
           (SELECT c.id FROM deals_company c
             WHERE c.team_id = %(team)s AND lower(c.name) = lower(l.company_name) LIMIT 1),
           l.created_at
      FROM leads_lead l
     WHERE l.id > %(after)s AND l.state = 'converted'
    ON CONFLICT DO NOTHING
    RETURNING id, phone, email
)
INSERT INTO deals_contactpoint (contact_id, kind, label, value, ext, raw, position)
SELECT id, 'phone', 'mobile', phone, '', '', 0 FROM people WHERE phone <> ''
UNION ALL
SELECT id, 'email', 'other', email, '', '', 0 FROM people WHERE email <> ''
"""


def grow(world: dict, pool: dict, current: int, size: int, args, now) -> None:
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
        after = cur.fetchone()[0]
    grow_leads(world, pool, current, size, args, now)
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(POINTS_SQL, {"after": after})
        points = cur.rowcount
        cur.execute(CONTACTS_SQL, {"after": after, "team": world["sales"].id})
        contact_points = cur.rowcount
    print(
        f"    points {points:,}, contact points {contact_points:,} "
        f"({time.perf_counter() - t0:.1f} s, the GIN indexes updated as they go)"
    )
    with connection.cursor() as cur:
        for table in (
            "leads_lead",
            "leads_leadcontactpoint",
            "deals_contact",
            "deals_contactpoint",
            "deals_company",
        ):
            cur.execute(f"VACUUM (ANALYZE) {table}")


def sizes_summary() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT (SELECT count(*) FROM leads_leadcontactpoint),
                      (SELECT count(*) FROM deals_contact),
                      pg_size_pretty(pg_relation_size('lead_team_month_words')),
                      pg_size_pretty(pg_relation_size('lead_point_value_trgm')),
                      pg_size_pretty(pg_relation_size('lead_point_value'))"""
        )
        points, contacts, lead_idx, point_idx, point_btree = cur.fetchone()
    return (
        f"  lead points {points:,}, contacts {contacts:,}; lead_team_month_words {lead_idx}, "
        f"lead_point_value_trgm {point_idx} (the btree lead_point_value {point_btree})"
    )


# --------------------------------------------------------------------------- queries


def written(e164: str, style: int) -> str:
    """A stored +7 number as a person types it."""
    d = e164[2:]
    return [
        f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"8 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
        f"8{d}",
    ][style % 3]


def queries(team_ids: list[int] | None, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Per kind, n queries drawn from stored leads (of these teams; None: any)."""
    from django.db import connection

    where = "team_id = ANY(%s)" if team_ids else "TRUE"
    params = [team_ids] if team_ids else []
    with connection.cursor() as cur:
        # a sample spread over the table, not the first rows
        cur.execute(
            f"SELECT name, phone, email FROM leads_lead WHERE {where} ORDER BY random() LIMIT %s",
            [*params, n * 6],
        )
        rows = cur.fetchall()
    rng.shuffle(rows)
    with_surname = [r for r in rows if len(r[0].split()) >= 2]
    with_email = [r for r in rows if r[2]]
    surnames = Counter(r[0].split()[1] for r in with_surname)
    common = [name for name, _count in surnames.most_common(max(1, n // 3))]
    found = {
        "phone, whole": [written(r[1], i) for i, r in enumerate(rows[:n])],
        "phone, last 4 digits": [r[1][-4:] for r in rows[n : 2 * n]],
        "name and surname": [" ".join(r[0].split()[:2]) for r in with_surname[:n]],
        "surname": [r[0].split()[1] for r in with_surname[-n:]],
        "common surname": [common[i % len(common)] for i in range(n)] if common else [],
        "surname, first 5 letters": [r[0].split()[1][:5] for r in with_surname[n : 2 * n]],
        "e-mail, whole": [r[2] for r in with_email[:n]],
        "e-mail, part": [r[2].split("@")[0] + "@" for r in with_email[-n:]],
    }
    return {kind: qs for kind, qs in found.items() if qs}


def time_case(client, path: str, qs: list[str], warmup: int, user=None) -> dict:
    """The server time of each request, its SQL, and (with `user`) the search's own time:
    `deals.search.search_all` alone, the three groups without the session, the middleware
    and the rendering, whose cost on a loaded machine hides the search's."""
    from django.db import connection

    from deals.search import search_all
    from leads.search import parse_query

    for q in qs[:warmup]:
        client.get(path, {"q": q})
    total, sql, found, own = [], [], 0, []
    for q in qs:
        if user is not None:
            t0 = time.perf_counter()
            search_all(user, parse_query(q))
            own.append((time.perf_counter() - t0) * 1000)
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            t0 = time.perf_counter()
            response = client.get(path, {"q": q})
            elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"{path}?q={q} returned {response.status_code}")
        body = response.content.decode()
        found += ('class="found"' in body) or ('"id":' in body)
        total.append(elapsed * 1000)
        sql.append(timer.seconds * 1000)
    return {"total": total, "sql": sql, "found": found, "n": len(qs), "own": own}


def lead_sql(client, q: str) -> list[str]:
    """The statements that read the matching leads, as the page sends them (words: one per
    window of arrival it needed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get("/search/", {"q": q})
    return [
        query["sql"]
        for query in captured.captured_queries
        if 'FROM "leads_lead"' in query["sql"]
        and "ORDER BY" in query["sql"]
        and "LIMIT 21" in query["sql"]
    ]


# --------------------------------------------------------------------------- intake


def intake_source(world: dict):
    from leads.models import LeadSource

    source, _ = LeadSource.objects.get_or_create(
        slug="bench-search-intake",
        defaults={"name": "Search bench intake", "channel": "web_form", "team": world["teams"][0]},
    )
    return source


def time_intake(source, n: int, rng: random.Random, label: str) -> list[float]:
    from leads import intake, services

    times = []
    for i in range(n):
        digits = f"{rng.randrange(10**7):07d}"
        raw = {
            "name": f"{rng.choice(['Анна', 'Пётр', 'Ольга', 'Сергей'])} Поиск{i}",
            "phone": f"8 (977) {digits[:3]}-{digits[3:5]}-{digits[5:]}",
            "email": f"intake{label}{i}@example.ru" if i % 2 else "",
            "company_name": "ООО Ромашка" if i % 5 == 0 else "",
        }
        t0 = time.perf_counter()
        fields, errors = intake.clean_fields(raw, forgive_contacts=True)
        if errors:
            raise RuntimeError(errors)
        fields["form_answers"] = {}
        services.lead_receive(source=source, fields=fields)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def drop_lead_indexes() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for name in LEAD_INDEXES:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')


def rebuild_lead_indexes() -> float:
    """As their migrations build them (CONCURRENTLY); the seconds it took."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.operations import AddIndex

    t0 = time.perf_counter()
    with connection.schema_editor(atomic=False) as editor:
        for name, migration_name in LEAD_INDEXES.items():
            migration = __import__(f"leads.migrations.{migration_name}", fromlist=["Migration"])
            for operation in migration.Migration.operations:
                if isinstance(operation, AddIndex) and operation.index.name == name:
                    model = apps.get_model("leads", operation.model_name)
                    editor.add_index(model, operation.index, concurrently=True)
    with connection.cursor() as cur:
        cur.execute("ANALYZE leads_lead")
    return time.perf_counter() - t0


def report_intake(label: str, times: list[float]) -> None:
    print(
        f"  {label:<40} {len(times):>5} leads  p50 {pct(times, 0.5):6.2f} ms  "
        f"p95 {pct(times, 0.95):6.2f}  p99 {pct(times, 0.99):6.2f}  "
        f"mean {statistics.fmean(times):6.2f} ms  load {os.getloadavg()[0]:.2f}"
    )


# --------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_h_search")
    started = time.perf_counter()
    created = ensure_database(url)
    print(f"database {server_params(url)[0]}: {'created' if created else 'exists'}")
    django_setup()
    migrate_and_collect()

    import django
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
    print(
        f"PostgreSQL {pg_version}; Django {django.get_version()}; DEBUG off; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    world = make_world()
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    if args.measure_only:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM leads_lead")
            args.sizes = [cur.fetchone()[0]]
    else:
        clear_leads(world)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE deals_contact, deals_company CASCADE")
    pool = pools()
    now = timezone.now()
    rng = random.Random(16)

    def client_for(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    who = {
        "qualifier, 1 team": (client_for(world["bench_user"]), [world["teams"][0].id]),
        "admin, all teams": (client_for(admin), None),
    }
    users = {"qualifier, 1 team": world["bench_user"], "admin, all teams": admin}
    current, results = 0, []
    for size in args.sizes:
        print(f"\n== {size:,} leads")
        if not args.measure_only:
            grow(world, pool, current, size, args, now)
        current = size
        print(table_summary(world))
        print(sizes_summary())
        state = wait_idle(f"{size:,}", args)
        for label, (client, team_ids) in who.items():
            for kind, qs in queries(team_ids, args.requests, rng).items():
                row = time_case(client, "/search/", qs, args.warmup, users[label])
                results.append((size, label, f"page: {kind}", row, state["load"]))
                print_row(results[-1])
        for label, (api_client, team_ids) in who.items():
            for kind, qs in queries(team_ids, args.requests, rng).items():
                if kind.startswith("phone") or "surname" in kind:
                    row = time_case(api_client, "/api/v1/leads/", qs, args.warmup)
                    results.append((size, label, f"API: {kind}", row, state["load"]))
                    print_row(results[-1])

    print("\n== EXPLAIN (ANALYZE, BUFFERS) of the leads query, largest size")
    for label, (client, team_ids) in who.items():
        for kind, qs in queries(team_ids, 1, rng).items():
            statements = lead_sql(client, qs[0]) if qs else []
            if not statements:
                print(f"-- {label}, {kind}: no leads query captured")
            for number, sql in enumerate(statements, 1):
                ms, plan = explain(sql)
                print(f"\n-- {label}, {kind} ({qs[0]!r}) {number}/{len(statements)}: {ms:.2f} ms")
                print(plan)

    if args.intake_posts:
        print(f"\n== Intake with and without the lead's search indexes, {current:,} leads")
        source = intake_source(world)
        wait_idle("intake", args)
        time_intake(source, 100, rng, "warm")
        report_intake("with the indexes", time_intake(source, args.intake_posts, rng, "a"))
        drop_lead_indexes()
        report_intake("without them", time_intake(source, args.intake_posts, rng, "b"))
        seconds = rebuild_lead_indexes()
        print(f"  rebuilt {', '.join(LEAD_INDEXES)} CONCURRENTLY in {seconds:.1f} s")
        report_intake("with the indexes again", time_intake(source, args.intake_posts, rng, "c"))

    print("\n== Summary: server time of GET /search/ (ms), p95 target < 50")
    print(
        f"{'leads':>10} | {'who':<18} | {'query':<30} | p50 | p95 | SQL p95 "
        "| search p50 | search p95 | found | load"
    )
    for row in results:
        print_row(row, summary=True)
    if not args.keep:
        if created:
            connection.close()
            drop_database(url)
            print("database dropped")
        else:
            clear_leads(world)
    print(f"total {time.perf_counter() - started:.0f} s")


def print_row(row, summary: bool = False) -> None:
    size, who, kind, r, load = row
    own = f"{pct(r['own'], 0.5):6.1f} | {pct(r['own'], 0.95):6.1f}" if r["own"] else "  -  |   -  "
    line = (
        f"{size:>10,} | {who:<18} | {kind:<30} | {pct(r['total'], 0.5):6.1f} | "
        f"{pct(r['total'], 0.95):6.1f} | {pct(r['sql'], 0.95):6.1f} | {own} | "
        f"{r['found']}/{r['n']} | {load:.2f}"
    )
    print(line if summary else f"  {line}  (max {max(r['total']):.1f})", flush=True)


if __name__ == "__main__":
    main()
