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
import math
import os
import re
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_TEAMS = 10
QUALIFIERS_PER_TEAM = 8
N_CLOSERS = 5
BENCH_PREFIX = "bench-"
TEAM_PREFIX = "Bench qualification "
SALES_TEAM = "Bench sales"
SOURCES = [
    ("Website form", "bench-website", "web_form", 45),
    ("Phone call", "bench-phone", "phone", 20),
    ("Walk-in", "bench-walk-in", "walk_in", 5),
    ("E-mail", "bench-email", "email", 10),
    ("Exhibition", "bench-exhibition", "exhibition", 5),
    ("Purchased list", "bench-purchased-list", "purchased_list", 10),
    ("API", "bench-api", "api", 5),
]
JUNK_REASONS = [
    ("Spam", "spam"),
    ("Wrong number", "wrong-number"),
    ("Not our product (wants a modular kitchen)", "not-our-product"),
    ("No budget", "no-budget"),
    ("Duplicate", "duplicate"),
    ("Unreachable after 3 attempts", "unreachable"),
]
MESSAGES = [
    "Нужна кухня на заказ, угловая, около 3 метров.",
    "Перезвоните, пожалуйста, после 18:00.",
    "Интересует кухня с островом, какие сроки изготовления?",
    "Хочу замер на следующей неделе.",
    "Сколько стоит прямая кухня 2,4 м с фасадами МДФ?",
    "Видел вашу рекламу, нужна консультация.",
]


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


def server_params(url: str) -> tuple[str, dict]:
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
        sys.exit(f"DATABASE_URL must point at PostgreSQL, got scheme {parts.scheme!r}")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        sys.exit("DATABASE_URL has no database name")
    params = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
    }
    if parts.password:
        params["password"] = unquote(parts.password)
    return name, params


def ensure_database(url: str) -> bool:
    """Create the database if missing; True when this run created it."""
    import psycopg2
    from psycopg2 import sql

    name, params = server_params(url)
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()


def drop_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    name, params = server_params(url)
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            cur.execute(drop.format(sql.Identifier(name)))
    finally:
        conn.close()


def django_setup() -> None:
    os.environ["DEBUG"] = "false"  # timings with DEBUG on would include query logging
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
    import django

    django.setup()


def migrate_and_collect() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    # Every run: a static file added to the app since the last run must be in the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)


# --------------------------------------------------------------------------- data


def make_world() -> dict:
    """Teams, users, sources, junk reasons: a few dozen rows, made with the ORM."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from crm.teams.models import Role, Team
    from leads.models import JunkReason, LeadSource

    def user(username: str, first: str, last: str, role: str) -> User:
        obj, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            obj.set_unusable_password()
            obj.save(update_fields=["password"])
        obj.groups.add(Group.objects.get(name=role))
        return obj

    from faker import Faker

    fake = Faker("ru_RU")
    fake.seed_instance(7)
    with transaction.atomic():
        head = user(f"{BENCH_PREFIX}head", "Дмитрий", "Волков", Role.SALES_HEAD)
        sales, _ = Team.objects.get_or_create(
            name=SALES_TEAM, defaults={"kind": Team.Kind.SALES, "manager": head}
        )
        closers = [
            user(f"{BENCH_PREFIX}closer-{i}", fake.first_name(), fake.last_name(), Role.CLOSER)
            for i in range(1, N_CLOSERS + 1)
        ]
        sales.members.add(*closers)
        teams, members = [], []
        for t in range(1, N_TEAMS + 1):
            team, _ = Team.objects.get_or_create(
                name=f"{TEAM_PREFIX}{t:02d}",
                defaults={"kind": Team.Kind.QUALIFICATION, "manager": head},
            )
            team.hands_off_to.add(sales)
            qualifiers = [
                user(
                    f"{BENCH_PREFIX}q{t:02d}-{i}",
                    fake.first_name(),
                    fake.last_name(),
                    Role.QUALIFIER,
                )
                for i in range(1, QUALIFIERS_PER_TEAM + 1)
            ]
            team.members.add(*qualifiers)
            teams.append(team)
            members.append(qualifiers)
        # A qualifier in two teams (01 and 02): the queue and Take next span both.
        two_teams = user(f"{BENCH_PREFIX}q-two-teams", "Мария", "Орлова", Role.QUALIFIER)
        for team in teams[:2]:
            team.members.add(two_teams)
        sources = []
        for name, slug, channel, _weight in SOURCES:
            source, _ = LeadSource.objects.get_or_create(
                slug=slug, defaults={"name": name, "channel": channel}
            )
            sources.append(source)
        reasons = []
        for order, (name, slug) in enumerate(JUNK_REASONS):
            reason, _ = JunkReason.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order}
            )
            reasons.append(reason)
    return {
        "teams": teams,
        "sales": sales,
        # The measured qualifier is the first member of the first team. Seeded leads are
        # assigned only to the other members, so Take next starts with nothing of their own.
        "bench_user": members[0][0],
        "two_teams_user": two_teams,
        "head": head,
        "assignable": [[u.id for u in qualifiers[1:]] for qualifiers in members],
        "sources": sources,
        "reasons": reasons,
    }


def bench_team_ids(world: dict) -> list[int]:
    return [t.id for t in world["teams"]]


def clear_leads(world: dict) -> None:
    """Start from an empty leads table; refuse to touch a database with other leads."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM leads_lead WHERE NOT (team_id = ANY(%s))",
            [bench_team_ids(world)],
        )
        foreign = cur.fetchone()[0]
        if foreign:
            sys.exit(
                f"leads_lead holds {foreign} leads of other teams: point DATABASE_URL at a "
                "dedicated benchmark database."
            )
        cur.execute("SELECT count(*) FROM leads_lead")
        if cur.fetchone()[0]:
            print("  removing the leads of a previous run (TRUNCATE leads_lead CASCADE)")
            cur.execute("TRUNCATE leads_lead CASCADE")


def pools(seed: int = 11) -> dict[str, list[str]]:
    from faker import Faker

    fake = Faker("ru_RU")
    fake.seed_instance(seed)
    names = []
    for i in range(3000):
        # Mostly "First Last", some with a patronymic, a few only a first name.
        if i % 10 == 0:
            names.append(fake.first_name())
        elif i % 4 == 0:
            names.append(fake.name())
        else:
            names.append(f"{fake.first_name()} {fake.last_name()}")
    companies = [fake.company() for _ in range(500)]
    return {"names": names, "companies": companies, "messages": MESSAGES}


# One statement per chunk. s1: randoms per row; s2: the row's kind and times; final: columns.
# Open rows are every k-th g (g % k = 0), so each step has exactly its share of open leads.
LEADS_SQL = """
INSERT INTO leads_lead (
    team_id, source_id, name, phone, email, company_name, message, state, duplicate_of_id,
    assignee_id, claimed_at, claim_expires_at, due_at, warn_at, breach_at,
    first_attempt_at, last_attempt_at, score, temperature, junk_reason_id, created_at, closed_at
    /*EXTRA_COLS*/
)
SELECT
    (%(teams)s::bigint[])[ti],
    (%(sources)s::bigint[])[si],
    (%(names)s::text[])[1 + (g %% %(n_names)s)],
    '+7916' || lpad((g %% 10000000)::text, 7, '0'),
    CASE WHEN rd < 0.4 THEN 'lead' || g || '@example.ru' ELSE '' END,
    CASE WHEN rd < 0.2 THEN (%(companies)s::text[])[1 + (g %% %(n_companies)s)] ELSE '' END,
    CASE WHEN re < 0.5 THEN (%(messages)s::text[])[1 + (g %% %(n_messages)s)] ELSE '' END,
    CASE kind WHEN 'converted' THEN 'converted' WHEN 'junk' THEN 'junk'
              WHEN 'checked' THEN 'checked' ELSE 'new' END,
    NULL,
    CASE WHEN kind IN ('fresh', 'retry') THEN NULL
         ELSE (%(assignable)s::bigint[])[ti][1 + floor(re * %(n_assignable)s)::int] END,
    claimed,
    CASE WHEN kind = 'claimed' THEN claimed + make_interval(mins => %(claim_timeout)s) END,
    CASE kind
        WHEN 'retry' THEN last_at + interval '30 minutes'
        -- a callback asked for a time: mostly ahead, some overdue
        WHEN 'callback' THEN %(now)s::timestamptz + (rf * 3 - 0.5) * interval '1 day'
        WHEN 'checked' THEN last_at + interval '1 day'
        ELSE created + interval '20 minutes' END,
    created + interval '15 minutes',
    created + interval '20 minutes',
    first_at,
    last_at,
    CASE WHEN kind IN ('converted', 'checked') THEN 30 + floor(rf * 71)::int ELSE 0 END,
    CASE WHEN kind IN ('converted', 'checked') THEN
        CASE WHEN 30 + floor(rf * 71)::int >= 70 THEN 'hot'
             WHEN 30 + floor(rf * 71)::int >= 40 THEN 'warm' ELSE 'potential' END
         ELSE 'potential' END,
    CASE WHEN kind = 'junk' THEN (%(reasons)s::bigint[])[1 + floor(rf * %(n_reasons)s)::int] END,
    created,
    CASE WHEN kind IN ('converted', 'junk') THEN last_at END
    /*EXTRA_VALS*/
FROM (
    SELECT s2.*,
           CASE WHEN first_at IS NULL THEN NULL
                WHEN kind = 'converted' THEN least(first_at + rf * interval '3 days', %(now)s)
                ELSE least(first_at + rf * interval '1 day', %(now)s) END AS last_at
    FROM (
        SELECT s1.*,
               CASE WHEN kind IN ('fresh', 'claimed') THEN NULL
                    ELSE least(created + (2 + rc * 90) * interval '1 minute', %(now)s) END
                   AS first_at,
               CASE WHEN kind = 'claimed' THEN %(now)s::timestamptz - rf * interval '20 minutes'
                    WHEN kind IN ('fresh', 'retry') THEN NULL
                    ELSE least(created + (1 + rc * 60) * interval '1 minute', %(now)s) END
                   AS claimed
        FROM (
            SELECT g, ti, si, rc, rd, re, rf,
                   CASE WHEN is_open THEN
                            CASE WHEN ra < 0.55 THEN 'fresh' WHEN ra < 0.62 THEN 'claimed'
                                 WHEN ra < 0.77 THEN 'retry' WHEN ra < 0.87 THEN 'callback'
                                 ELSE 'checked' END
                        ELSE CASE WHEN ra < 0.15 THEN 'converted' ELSE 'junk' END
                   END AS kind,
                   CASE WHEN is_open
                        THEN %(now)s::timestamptz - power(rb, 3) * interval '90 days'
                        ELSE %(now)s::timestamptz - interval '1 day' - rb * interval '364 days'
                   END AS created
            FROM (
                SELECT g,
                       (g %% %(open_every)s = 0) AS is_open,
                       1 + floor(random() * %(n_teams)s)::int AS ti,
                       -- sources weighted (web forms most)
                       (SELECT i FROM unnest(%(source_cum)s::float8[]) WITH ORDINALITY c(w, i)
                         WHERE c.w > rs ORDER BY i LIMIT 1)::int AS si,
                       ra, rb, rc, rd, re, rf
                FROM (
                    SELECT g, random() AS rs, random() AS ra, random() AS rb, random() AS rc,
                           random() AS rd, random() AS re, random() AS rf
                    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
                ) s0
            ) s00
        ) s1
    ) s2
) s3
"""


# Columns added to the model later, filled when the table has them: web-form and API leads
# carry the sender's id and UTM tags, the others leave them blank.
OPTIONAL_COLUMNS = {
    "external_id": "CASE WHEN (%(from_site)s::bool[])[si] AND rd >= 0.1 THEN 'ext-' || g "
    "ELSE '' END",
    "utm_source": "CASE WHEN (%(from_site)s::bool[])[si] "
    "THEN (ARRAY['yandex', 'google', 'vk', 'telegram'])[1 + (g %% 4)] ELSE '' END",
    "utm_medium": "CASE WHEN (%(from_site)s::bool[])[si] THEN 'cpc' ELSE '' END",
    "utm_campaign": "CASE WHEN (%(from_site)s::bool[])[si] "
    "THEN 'kitchens-' || (1 + (g %% 12)) ELSE '' END",
}


def leads_sql() -> str:
    """LEADS_SQL plus the optional columns the table has; stops if a NOT NULL column without a
    default would be left out (the model changed: teach this script the new column)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT column_name, is_nullable = 'NO' AND column_default IS NULL
                      AND is_identity = 'NO'
               FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'leads_lead'"""
        )
        columns = dict(cur.fetchall())
    head = LEADS_SQL[LEADS_SQL.index("(") + 1 : LEADS_SQL.index("/*EXTRA_COLS*/")]
    filled = {c.strip() for c in head.split(",") if c.strip()}
    extra = [c for c in OPTIONAL_COLUMNS if c in columns]
    missing = sorted(
        c for c, required in columns.items() if required and c not in filled | set(extra)
    )
    if missing:
        sys.exit(f"leads_lead has NOT NULL columns this script does not fill: {missing}")
    return LEADS_SQL.replace("/*EXTRA_COLS*/", "".join(f", {c}" for c in extra)).replace(
        "/*EXTRA_VALS*/", "".join(f", {OPTIONAL_COLUMNS[c]}" for c in extra)
    )


def grow_leads(world: dict, pool: dict, start: int, stop: int, args, now) -> None:
    """Insert leads g = start .. stop-1 in chunks."""
    from django.db import connection, transaction

    weights = [w for *_rest, w in SOURCES]
    total = sum(weights)
    cum, acc = [], 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)
    cum[-1] = 1.000001
    open_every = max(1, round(1 / args.open_share))
    base = {
        "teams": bench_team_ids(world),
        "n_teams": N_TEAMS,
        "sources": [s.id for s in world["sources"]],
        "from_site": [s.channel in ("web_form", "api") for s in world["sources"]],
        "source_cum": cum,
        "reasons": [r.id for r in world["reasons"]],
        "n_reasons": len(world["reasons"]),
        "assignable": world["assignable"],
        "n_assignable": len(world["assignable"][0]),
        "names": pool["names"],
        "n_names": len(pool["names"]),
        "companies": pool["companies"],
        "n_companies": len(pool["companies"]),
        "messages": pool["messages"],
        "n_messages": len(pool["messages"]),
        "open_every": open_every,
        "claim_timeout": world["teams"][0].claim_timeout_minutes,
        "now": now,
    }
    chunk = 250_000
    statement = leads_sql()
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SELECT setseed(%s)", [((args.seed * 1000 + start) % 1000) / 1000])
        for lo in range(start, stop, chunk):
            hi = min(stop, lo + chunk) - 1
            t0 = time.perf_counter()
            with transaction.atomic():
                cur.execute(statement, {**base, "lo": lo, "hi": hi})
            print(f"    leads {lo:>9,} .. {hi:>9,}  {time.perf_counter() - t0:6.1f} s", flush=True)
        cur.execute("SET synchronous_commit = on")


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) leads_lead")
        cur.execute("ANALYZE leads_leadevent")


def table_summary(world: dict) -> str:
    from django.db import connection

    team_id = world["teams"][0].id
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*),
                      count(*) FILTER (WHERE state IN ('new', 'checked')),
                      count(*) FILTER (WHERE state IN ('new', 'checked') AND team_id = %s),
                      count(*) FILTER (WHERE state = 'new' AND team_id = %s
                                       AND (assignee_id IS NULL OR claim_expires_at < now())),
                      pg_size_pretty(pg_total_relation_size('leads_lead')),
                      pg_size_pretty(pg_relation_size('lead_open_queue'))
               FROM leads_lead""",
            [team_id, team_id],
        )
        total, open_, team_open, claimable, size, idx = cur.fetchone()
    return (
        f"  leads {total:,} ({open_:,} open); measured team: {team_open:,} open, "
        f"{claimable:,} claimable; table+indexes {size}, lead_open_queue {idx}"
    )


# --------------------------------------------------------------------------- measuring


class SqlTimer:
    """Sums the time spent in the database driver during a request (execute_wrapper)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.count += 1


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


CLAIMED_URL = re.compile(r"/leads/(\d+)/$")


def claimed_id(response) -> int:
    location = response.headers.get("Location", "")
    match = CLAIMED_URL.search(location)
    if response.status_code != 302 or not match:
        raise RuntimeError(
            f"Take next did not claim a lead: {response.status_code} -> {location!r}"
        )
    return int(match.group(1))


def release(lead_id: int) -> None:
    """What logging "no answer" does to a claim: back to the queue, due again in 30 min."""
    from django.db.models import Value
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from leads.models import Lead

    now = timezone.now()
    Lead.objects.filter(pk=lead_id).update(
        assignee=None,
        claimed_at=None,
        claim_expires_at=None,
        first_attempt_at=Coalesce("first_attempt_at", Value(now)),
        last_attempt_at=now,
        due_at=now + timedelta(minutes=30),
    )


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
            release(claimed_id(response))

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


def explain(sql: str) -> tuple[float, str]:
    """EXPLAIN (ANALYZE, BUFFERS) a captured statement inside a rolled-back transaction."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [row[0] for row in cur.fetchall()]
        transaction.set_rollback(True)
    found = (re.search(r"Execution Time: ([\d.]+)", line) for line in lines)
    ms = next((float(m.group(1)) for m in found if m), float("nan"))
    return ms, "\n".join(lines)


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
    from django.test import Client

    def client_for(user):
        client = Client()
        client.force_login(user)
        return client

    one = client_for(world["bench_user"])
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
                "client": client_for(world["head"]),
                "n": args.multi_requests,
                "warmup": 2,
                "label": "GET /leads/",
                "who": f"sales head, {N_TEAMS} teams",
            },
            {
                "key": "take_next_two",
                "kind": "take_next",
                "client": client_for(world["two_teams_user"]),
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
