"""What the benchmarks share: the PostgreSQL database (create, lock, drop), Django set up as
production runs it (DEBUG off), a world of teams, users and sources, leads seeded with one
set-based INSERT ... SELECT per chunk, timing (SQL time per request, percentiles, EXPLAIN),
and the machine (waiting until no other heavy job shares the cores, riding out a PostgreSQL
restart). Each script in bench/ measures one thing the README's Performance section quotes
and imports the rest from here; the app's own code is imported, never copied."""

import math
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# ------------------------------------------------------------------ the world the scripts seed

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


# ------------------------------------------------------------------ database and Django


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


def django_setup(settings_module: str = "bench.bench_settings") -> None:
    os.environ["DEBUG"] = "false"  # timings with DEBUG on would include query logging
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()


def migrate_and_collect() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    # Every run: a static file added to the app since the last run must be in the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)


def run_lock(url: str):
    """A session advisory lock: two runs on one database would delete each other's rows."""
    import psycopg2

    name, params = server_params(url)
    conn = psycopg2.connect(dbname=name, **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtext('bench/intake_bench.py'))")
        if not cur.fetchone()[0]:
            conn.close()
            return None
    return conn  # held until the process exits


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ seeding


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


OPTIONAL_COLUMNS = {
    "external_id": "CASE WHEN (%(from_site)s::bool[])[si] AND rd >= 0.1 THEN 'ext-' || g "
    "ELSE '' END",
    "utm_source": "CASE WHEN (%(from_site)s::bool[])[si] "
    "THEN (ARRAY['yandex', 'google', 'vk', 'telegram'])[1 + (g %% 4)] ELSE '' END",
    "utm_medium": "CASE WHEN (%(from_site)s::bool[])[si] THEN 'cpc' ELSE '' END",
    "utm_campaign": "CASE WHEN (%(from_site)s::bool[])[si] "
    "THEN 'kitchens-' || (1 + (g %% 12)) ELSE '' END",
    # minutes from arrival to the first call (the reports' reaction; the teams work round the
    # clock)
    "reaction_minutes": "round((extract(epoch FROM first_at - created) / 60)::numeric, 2)::float8",
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


# ------------------------------------------------------------------ deals

# A seeded deal's lead is a converted lead of a bench qualification team, its contact one of the
# sales team's; each open deal's stage, closer and dates as a board sees them.
DEAL_PHONE_PREFIX = "+7900"
DEAL_TEMPLATE_NAME = "Bench deal template"

# The lead columns a deal's lead sets; every other column is copied from a template lead made
# with the app's own service, so a new NOT NULL column of leads_lead needs nothing here.
DEAL_LEAD_COLUMNS = {
    "team_id": "(%(teams)s::bigint[])[1 + (g %% %(n_teams)s)]",
    "name": "(%(names)s::text[])[1 + (g %% %(n_names)s)]",
    "phone": f"'{DEAL_PHONE_PREFIX}' || lpad(g::text, 7, '0')",
    "email": "''",
    "external_id": "''",
    "state": "'converted'",
    "duplicate_of_id": "NULL",
    "score": "30 + (g %% 71)",
    "temperature": "CASE WHEN g %% 71 >= 40 THEN 'hot' WHEN g %% 71 >= 10 THEN 'warm' "
    "ELSE 'potential' END",
    "created_at": "%(now)s::timestamptz - (g %% 525600) * interval '1 minute' - interval '1 day'",
    "closed_at": "%(now)s::timestamptz - (g %% 525600) * interval '1 minute'",
}

DEALS_SQL = """
INSERT INTO deals_deal (
    team_id, lead_id, contact_id, company_id, stage, closer_id, meeting_at, meeting_address,
    amount, loss_reason_id, created_at, accepted_at, closed_at
)
SELECT %(sales)s, l.id, c.id, NULL, l.stage,
       CASE WHEN l.stage = 'handed_off' AND l.r2 < %(pool_share)s THEN NULL
            ELSE (%(closers)s::bigint[])[1 + (l.id %% %(n_closers)s)] END,
       CASE WHEN l.stage = 'meeting' THEN
                date_trunc('minute', %(now)s::timestamptz + (l.r2 * 30 - 10) * interval '1 day')
            WHEN l.stage IN ('proposal', 'won') THEN l.created + interval '3 days' END,
       CASE WHEN l.stage IN ('meeting', 'proposal', 'won') THEN 'Тверская, ' || (1 + l.id %% 90)
            ELSE '' END,
       CASE WHEN l.stage = 'won' THEN 150000 + floor(l.r2 * 750000) END,
       NULL,
       l.created,
       CASE WHEN l.stage NOT IN ('handed_off', 'returned') THEN l.created + interval '2 hours' END,
       CASE WHEN l.stage IN ('won', 'lost', 'returned') THEN l.created + interval '10 days' END
FROM (
    SELECT s.*,
           -- created to the second: deals that tie on created_at are common
           date_trunc('second', CASE
                WHEN s.stage IN ('handed_off', 'accepted', 'meeting', 'proposal')
                    THEN %(now)s::timestamptz - power(s.r3, 2) * interval '90 days'
                ELSE %(now)s::timestamptz - interval '1 day' - s.r3 * interval '364 days' END)
               AS created
    FROM (
        SELECT l0.id, l0.phone, random() AS r2, random() AS r3,
               CASE WHEN random() < %(open_share)s
                    THEN (ARRAY['handed_off', 'accepted', 'meeting', 'proposal'])[1 + (l0.id %% 4)]
                    ELSE CASE WHEN random() < 0.42 THEN 'won'
                              WHEN random() < 0.95 THEN 'lost' ELSE 'returned' END
               END AS stage
        FROM leads_lead l0
        WHERE l0.id > %(after_id)s AND l0.phone LIKE %(phones)s
    ) s
) l
JOIN deals_contact c ON c.team_id = %(sales)s AND c.phone = l.phone
"""


def _deal_leads_sql(template_id: int) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'leads_lead'
               ORDER BY ordinal_position"""
        )
        columns = [c for (c,) in cur.fetchall() if c != "id"]
    values = [DEAL_LEAD_COLUMNS.get(c, f"t.{c}") for c in columns]
    return (
        f"INSERT INTO leads_lead ({', '.join(columns)}) SELECT {', '.join(values)} "
        f"FROM leads_lead t, generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g "
        f"WHERE t.id = {int(template_id)}"
    )


def clear_deals(world: dict) -> None:
    """Start with no deals; refuse a database with deals of other teams."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM deals_deal WHERE team_id <> %s", [world["sales"].id])
        if cur.fetchone()[0]:
            sys.exit("deals_deal holds deals of other teams: use a dedicated benchmark database.")
    clear_leads(world)  # TRUNCATE leads_lead CASCADE takes the deals and their events
    with connection.cursor() as cur:
        cur.execute("TRUNCATE deals_contact CASCADE")


def grow_deals(world: dict, pool: dict, start: int, stop: int, args, now) -> None:
    """Deals g = start .. stop-1, each with its converted lead and its contact, in chunks of
    set-based SQL: `args.open_share` of them open (a quarter per stage; `args.pool_share` of
    the handed-off ones in the pool), the rest won, lost or returned. Open deals were made in
    the last 90 days (skewed to recent), closed ones over the year before; site visits from 10
    days ago to 20 days ahead; the sales team's closers hold the deals taken."""
    from django.db import connection, transaction

    from leads import services
    from leads.models import Lead

    template = Lead.objects.filter(name=DEAL_TEMPLATE_NAME).first() or services.lead_create(
        team=world["teams"][0],
        now=now,
        name=DEAL_TEMPLATE_NAME,
        phone="+79161110000",
        source=world["sources"][0],
    )
    leads_sql = _deal_leads_sql(template.pk)
    closers = list(world["sales"].members.order_by("username"))
    base = {
        "teams": bench_team_ids(world),
        "n_teams": N_TEAMS,
        "names": pool["names"],
        "n_names": len(pool["names"]),
        "now": now,
        "sales": world["sales"].id,
        "closers": [c.id for c in closers],
        "n_closers": len(closers),
        "open_share": args.open_share,
        "pool_share": args.pool_share,
        "phones": f"{DEAL_PHONE_PREFIX}%",
    }
    chunk = 200_000
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SELECT setseed(%s)", [((args.seed * 1000 + start) % 1000) / 1000])
        for lo in range(start, stop, chunk):
            hi = min(stop, lo + chunk) - 1
            t0 = time.perf_counter()
            with transaction.atomic():
                cur.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
                after_id = cur.fetchone()[0]
                cur.execute(leads_sql, {**base, "lo": lo, "hi": hi})
                cur.execute(
                    """INSERT INTO deals_contact (team_id, name, phone, email, company_id,
                                                  created_at)
                       SELECT %(sales)s, name, phone, '', NULL, created_at FROM leads_lead
                       WHERE id > %(after_id)s AND phone LIKE %(phones)s""",
                    {**base, "after_id": after_id},
                )
                cur.execute(DEALS_SQL, {**base, "after_id": after_id})
            print(f"    deals {lo:>9,} .. {hi:>9,}  {time.perf_counter() - t0:6.1f} s", flush=True)
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


# ------------------------------------------------------------------ measuring


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
    """Nearest-rank percentile, q in 0..1 (NaN of no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


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


def logged_in(user):
    """A django.test.Client with the user's session (force_login): requests as that user."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def time_gets(client, url: str, n: int, warmup: int, headers: dict | None = None) -> dict:
    """GET url n times after `warmup` untimed ones, each must answer 200: per request the
    server time and its SQL time (ms), its CPU time (ms) and its statements (sql, seconds).
    A request that lost the database (PostgreSQL restarted) is redone, not counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}

    def get():
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} returned {response.status_code}")
        return response

    for _ in range(warmup):
        db_retry(get, "warm-up request")
    total, sql, cpu, statements = [], [], [], []

    def timed():
        timer = SqlTimer()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            c0, t0 = time.process_time(), time.perf_counter()
            response = get()
            elapsed = time.perf_counter() - t0
            cpu_ms = (time.process_time() - c0) * 1000
        return timer, captured, response, elapsed, cpu_ms

    load_before = os.getloadavg()[0]
    response = None
    for _ in range(n):
        timer, captured, response, elapsed, cpu_ms = db_retry(timed, "request")
        total.append(elapsed * 1000)
        sql.append(timer.seconds * 1000)
        cpu.append(cpu_ms)
        statements.append([(q["sql"], float(q["time"])) for q in captured.captured_queries])
    return {
        "total": total,
        "sql": sql,
        "cpu": cpu,
        "counts": [len(s) for s in statements],
        "statements": statements,
        "queries": [q for q, _s in statements[-1]] if statements else [],
        "response": response,
        "load": (load_before, os.getloadavg()[0]),
    }


CLAIMED_URL = re.compile(r"/leads/(\d+)/$")


def claimed_lead_id(status: int, location: str) -> int:
    """The lead Take next claimed, from its redirect to the lead's page."""
    match = CLAIMED_URL.search(location)
    if status != 302 or not match:
        raise RuntimeError(f"Take next did not claim a lead: {status} -> {location!r}")
    return int(match.group(1))


def release_claim(lead_id: int) -> None:
    """What logging "no answer" does to a claim: back to the queue, due again in 30 min
    (untimed, after each timed Take next, so the next one claims the next most urgent)."""
    from datetime import timedelta

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


# What a claim and release_claim change on a lead: its place in the queue.
QUEUE_COLUMNS = (
    "assignee",
    "claimed_at",
    "claim_expires_at",
    "first_attempt_at",
    "last_attempt_at",
    "due_at",
)


def queue_snapshot() -> list:
    """The queue columns of every new lead (the only ones Take next claims), to put back with
    restore_queue when a benchmark is done: each release leaves its lead due 30 minutes later,
    and a few runs in a row would otherwise empty the team's queue."""
    from leads.models import Lead

    return list(Lead.objects.filter(state=Lead.State.NEW).only("pk", *QUEUE_COLUMNS))


def restore_queue(leads: list) -> None:
    from leads.models import Lead

    Lead.objects.bulk_update(leads, QUEUE_COLUMNS, batch_size=2000)


# ------------------------------------------------------------------ the machine

BUSY_PATTERN = "pytest|intake_bench|queue_bench|locust"

# What had to be run again after a lost connection, for the report at the end.
RETRIES: list[str] = []


def busy_processes() -> list[str]:
    found = subprocess.run(
        ["pgrep", "-af", BUSY_PATTERN], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    mine = str(os.getpid())
    return [line[:160] for line in found if line.split(" ", 1)[0] != mine]


def wait_idle(label: str, args, max_s: float = 1200, every_s: float = 30) -> dict:
    """Wait until no other heavy benchmark or test run is going (unless args.no_wait);
    returns what was seen."""
    t0 = time.monotonic()
    busy = busy_processes()
    while busy and not args.no_wait and time.monotonic() - t0 < max_s:
        names = "; ".join(" ".join(b.split(" ")[1:4])[:70] for b in busy)
        print(f"  [{label}] waiting for an idle machine ({len(busy)} busy: {names})", flush=True)
        time.sleep(every_s)
        busy = busy_processes()
    state = {
        "label": label,
        "waited_s": time.monotonic() - t0,
        "busy": busy,
        "load": os.getloadavg()[0],
    }
    # the connection may have gone while waiting (the fault tests restart PostgreSQL)
    wait_for_db()
    note = "idle" if not busy else f"STILL BUSY, ran anyway: {busy}"
    print(f"  [{label}] waited {state['waited_s']:.0f} s; {note}; load {state['load']:.2f}")
    return state


def wait_for_db(max_s: float = 300) -> None:
    """After a lost connection: wait until PostgreSQL answers again."""
    from django.db import connection

    t0 = time.monotonic()
    while True:
        connection.close()
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT 1")
            return
        except Exception:
            if time.monotonic() - t0 > max_s:
                raise
            time.sleep(2)


def db_retry(fn, what: str, attempts: int = 4, undo=None):
    """Run fn; when the connection to PostgreSQL is lost, wait for it, undo what a partly
    committed fn left (when given) and run fn again."""
    from django.db import InterfaceError, OperationalError

    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, InterfaceError) as error:
            if attempt == attempts - 1:
                raise
            first = (str(error).strip().splitlines() or [""])[0]
            print(f"  [{what}] lost the database ({first}); waiting, then again", flush=True)
            RETRIES.append(what)
            wait_for_db()
            if undo is not None:
                undo()
    return None


def print_machine(machine: list[dict], width: int = 28) -> None:
    """What wait_idle saw before each timing phase, and the retries after a lost database."""
    if RETRIES:
        print(f"\nlost the database and retried {len(RETRIES)} times: {', '.join(RETRIES)}")
    print("\nmachine during the timing phases:")
    for m in machine:
        state = "idle" if not m["busy"] else f"busy ({len(m['busy'])} processes, ran anyway)"
        print(
            f"  {m['label']:<{width}} waited {m['waited_s']:5.0f} s, {state}, load {m['load']:.2f}"
        )
