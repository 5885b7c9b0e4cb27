#!/usr/bin/env python
"""Server time of the reports on PostgreSQL at growing table sizes.

The issue (6): "PostgreSQL, 1,000,000 leads over 12 months, 10 teams, 100 people: the team
report for a quarter and a person report, at 100k and at 1M leads. Target: under 500 ms each."
Issue 16.2 (reports from roll-ups): every report under 300 ms p95 at 1M and at 10M leads for a
quarter, the all-teams view, the API and the CSV included; and the roll-up jobs timed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_reports \
        .venv/bin/python bench/report_bench.py [--sizes 100000,1000000] [--requests 20] \
        [--keep]

What it does:
1. Creates the database if missing, migrates, collects static files into bench/.staticfiles
   (bench/bench_settings.py, DEBUG off; the shared bench/harness.py).
2. People and teams with the ORM (100 people): 10 qualification teams of 8 qualifiers (teams
   09 and 10 in Asia/Yekaterinburg, the rest in Europe/Moscow), 2 sales teams of 9 closers
   (qualification teams 01-05 hand off to sales 1, 06-10 to sales 2), and two sales heads.
3. Leads and everything reports read, with set-based SQL (INSERT ... SELECT over
   generate_series, seeded random(); per-row choices of derived rows from md5 of the id):
   - leads spread over the 12 months up to yesterday (daytime-weighted), 7 sources weighted,
     10 teams; 15% converted, 63% junk (with a reason), 8% checked, 14% still new; every lead
     but 60% of the new ones was called: first_attempt_at and reaction_minutes (exponential,
     mean ~12 working minutes; the teams work round the clock);
   - each converted lead: a contact, a deal in its sales team and a handoff from the qualifier
     who called it; deals 4% handed off (half in the pool), 5% accepted, 5% meeting, 8%
     proposal, 33% won (amount 150k-900k, closed 2-47 days after acceptance), 45% lost (with a
     reason); 9% of deals disputed: a third upheld (deal returned), 44% rejected, the rest open;
   - contact attempts: the first call of every called lead (by its qualifier; reached, no
     answer, busy or wrong number by state) and a second call for 35% of them;
   - transition events by the qualifier: new->checked and checked->converted, new->junk (with
     the reason), new->checked for checked leads;
   - warn and breach deadlines of every lead: cancelled by a call in time, else raised;
   - four answers of every converted or checked lead (the insights page's): two choices of
     three, a yes/no and a number of 20 values.
   Then VACUUM ANALYZE of every table loaded.
   Then the team report's roll-ups (reports/rollups.py): the quarter's figures of team 01 and
   sales 1 are computed from the raw rows, every closed day is built (`refresh(everything=
   True)`, timed: what `manage.py rebuild_rollups --all` does), and the same figures read from
   the roll-ups must be equal. Timed too: rebuilding one day of all 12 teams (what reading
   today live costs), and the refresh job after a night — yesterday not built yet and 30
   team-days marked by late changes. The same for the person roll-ups and the insights'
   (reports/insight_rollups.py: all teams' insights for the quarter, live then built, equal).
4. Measures with django.test.Client in process (force_login; perf_counter around each call;
   CaptureQueriesContext for the number of queries and the SQL time):
   (a) GET /reports/?from=&to= (the last whole quarter) as a head managing ONE qualification
       team and ONE sales team (the other head manages the rest);
   (b) the same as a head managing all 12 teams;
   (c) GET /reports/people/<id>/?from=&to= for a qualifier and for a closer;
   (d) as the head of all 12 teams: the API's JSON and CSV for the quarter
       (/api/v1/reports/teams/), the page's CSV, and the page's default (the last 30 days,
       today included);
   (e) the leaderboard (1 + 1 teams, all 12, the last 30 days) and the insights page (all 12
       teams: the quarter, and the last 30 days with today live).
   --requests timed requests each (20) after 2 warm-up ones, at each size. It prints p50 / p95
   / max, SQL time and query count, the SQL time by kind of query, and at the largest size
   EXPLAIN (ANALYZE, BUFFERS) of the slowest query of each kind.
Before each timing phase it waits (polling every 30 s, at most 20 minutes) until no pytest,
intake_bench, queue_bench or locust process runs; the report says if it had to run anyway.
Without --keep the database is dropped at the end if this run created it.
"""

import argparse
import os
import re
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402 - after the path is set
from bench.harness import db_retry, explain, pct, wait_idle  # noqa: E402

TARGET_MS = 300.0
N_QUAL_TEAMS = 10
QUALIFIERS_PER_TEAM = 8
N_SALES_TEAMS = 2
CLOSERS_PER_TEAM = 9
PREFIX = "rbench-"
QUAL_TEAM = "RBench qualification "
SALES_TEAM = "RBench sales "
EAST_TEAMS = (9, 10)  # Asia/Yekaterinburg
LOSS_REASONS = [
    ("Too expensive", "too-expensive"),
    ("Chose a competitor", "competitor"),
    ("Postponed the renovation", "postponed"),
    ("Stopped answering", "no-answer"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="total leads at each step")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    parser.add_argument("--keep", action="store_true", help="keep the database and its data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the leads a --keep run left (a size already loaded is not seeded again)",
    )
    parser.add_argument("--seed", type=float, default=0.42, help="seed of SQL random()")
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    return args


def run_sql(statement: str, params: dict, what: str, seed: float | None = None) -> int:
    """One statement in its own transaction (asynchronous commit); its row count."""
    from django.db import connection, transaction

    def once() -> int:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            if seed is not None:
                cur.execute("SELECT setseed(%s)", [seed])
            cur.execute(statement, params)
            return cur.rowcount

    return db_retry(once, what)


def execute(statement: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(statement)


def scalar(statement: str):
    from django.db import connection

    def once():
        with connection.cursor() as cur:
            cur.execute(statement)
            return cur.fetchone()[0]

    return db_retry(once, "query")


# --------------------------------------------------------------------------- world


def make_world() -> dict:
    """Teams, 100 people, sources, junk and loss reasons: a few dozen rows, with the ORM."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from faker import Faker

    from crm.teams.models import Role, Team
    from deals.models import LossReason
    from leads.models import JunkReason, LeadSource

    fake = Faker("ru_RU")
    fake.seed_instance(17)

    def user(username: str, role: str, first: str = "", last: str = "") -> User:
        obj, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first or fake.first_name(),
                "last_name": last or fake.last_name(),
                "email": f"{username}@bench.example.ru",
            },
        )
        if created:
            obj.set_unusable_password()
            obj.save(update_fields=["password"])
        obj.groups.add(Group.objects.get(name=role))
        return obj

    with transaction.atomic():
        head = user(f"{PREFIX}head", Role.SALES_HEAD, "Дмитрий", "Волков")
        other_head = user(f"{PREFIX}head-2", Role.SALES_HEAD, "Ирина", "Соколова")
        sales, closers = [], []
        for s in range(1, N_SALES_TEAMS + 1):
            team, _ = Team.objects.get_or_create(
                name=f"{SALES_TEAM}{s}", defaults={"kind": Team.Kind.SALES, "manager": head}
            )
            members = [
                user(f"{PREFIX}closer-{s}-{i}", Role.CLOSER) for i in range(1, CLOSERS_PER_TEAM + 1)
            ]
            team.members.add(*members)
            sales.append(team)
            closers.append(members)
        teams, qualifiers = [], []
        for t in range(1, N_QUAL_TEAMS + 1):
            team, _ = Team.objects.get_or_create(
                name=f"{QUAL_TEAM}{t:02d}",
                defaults={
                    "kind": Team.Kind.QUALIFICATION,
                    "manager": head,
                    "time_zone": "Asia/Yekaterinburg" if t in EAST_TEAMS else "Europe/Moscow",
                },
            )
            sales_team = sales[(t - 1) * N_SALES_TEAMS // N_QUAL_TEAMS]
            team.hands_off_to.add(sales_team)
            members = [
                user(f"{PREFIX}q{t:02d}-{i}", Role.QUALIFIER)
                for i in range(1, QUALIFIERS_PER_TEAM + 1)
            ]
            team.members.add(*members)
            teams.append(team)
            qualifiers.append(members)
        sources = []
        for name, slug, channel, _weight in harness.SOURCES:
            source, _ = LeadSource.objects.get_or_create(
                slug=slug, defaults={"name": name, "channel": channel}
            )
            sources.append(source)
        reasons = []
        for order, (name, slug) in enumerate(harness.JUNK_REASONS):
            reason, _ = JunkReason.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order}
            )
            reasons.append(reason)
        losses = []
        for order, (name, slug) in enumerate(LOSS_REASONS):
            loss, _ = LossReason.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order}
            )
            losses.append(loss)
    people = User.objects.filter(username__startswith=PREFIX).count()
    return {
        "head": head,
        "other_head": other_head,
        "teams": teams,
        "sales": sales,
        "qualifiers": qualifiers,
        "closers": closers,
        "sources": sources,
        "reasons": reasons,
        "losses": losses,
        "people": people,
    }


def set_managers(world: dict, mode: str) -> list[str]:
    """'one': the head manages qualification team 01 and sales team 1 (the other head the
    rest); 'all': the head manages all twelve."""
    from crm.teams.models import Team

    every = world["teams"] + world["sales"]
    mine = [world["teams"][0], world["sales"][0]] if mode == "one" else every
    Team.objects.filter(pk__in=[t.pk for t in every]).update(manager=world["other_head"])
    Team.objects.filter(pk__in=[t.pk for t in mine]).update(manager=world["head"])
    return [t.name for t in mine]


def tables() -> dict:
    from crm.deadlines.models import Deadline
    from deals.models import Contact, Deal
    from handoff.models import Dispute, Handoff
    from leads.models import Answer, ContactAttempt, Lead, LeadEvent
    from reports.models import (
        DirtyDay,
        InsightBuiltDay,
        InsightDay,
        InsightDirtyDay,
        PersonBuiltDay,
        PersonDay,
        PersonDirtyDay,
        TeamDay,
    )

    return {
        "lead": Lead._meta.db_table,
        "contact": Contact._meta.db_table,
        "deal": Deal._meta.db_table,
        "handoff": Handoff._meta.db_table,
        "dispute": Dispute._meta.db_table,
        "attempt": ContactAttempt._meta.db_table,
        "event": LeadEvent._meta.db_table,
        "deadline": Deadline._meta.db_table,
        "answer": Answer._meta.db_table,
        "team_day": TeamDay._meta.db_table,
        "dirty_day": DirtyDay._meta.db_table,
        "person_day": PersonDay._meta.db_table,
        "person_built": PersonBuiltDay._meta.db_table,
        "person_dirty": PersonDirtyDay._meta.db_table,
        "insight_day": InsightDay._meta.db_table,
        "insight_built": InsightBuiltDay._meta.db_table,
        "insight_dirty": InsightDirtyDay._meta.db_table,
    }


def clear(world: dict) -> None:
    """Empty the lead-side tables; refuse a database with other teams' leads."""
    from django.db import connection

    t = tables()
    ids = [team.pk for team in world["teams"]]
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {t['lead']} WHERE NOT (team_id = ANY(%s))", [ids])
        if cur.fetchone()[0]:
            sys.exit("leads of other teams in this database: point DATABASE_URL at a bench one")
        cur.execute(
            f"TRUNCATE {t['dispute']}, {t['handoff']}, {t['deal']}, {t['contact']}, "
            f"{t['lead']}, {t['team_day']}, {t['dirty_day']}, {t['person_day']}, "
            f"{t['person_built']}, {t['person_dirty']}, {t['insight_day']}, "
            f"{t['insight_built']}, {t['insight_dirty']} CASCADE"
        )


# --------------------------------------------------------------------------- data (SQL)


def h(column: str, salt: str) -> str:
    """A per-row pseudo-random number in [0, 1) from md5 of a column: the same in every
    statement, so derived rows agree with each other."""
    return (
        f"(('x' || substr(md5({column}::text || '{salt}'), 1, 8))::bit(32)::bigint / 4294967296.0)"
    )


LEADS_SQL = """
INSERT INTO {lead} (
    team_id, source_id, name, phone, email, company_name, message, state, duplicate_of_id,
    assignee_id, claimed_at, claim_expires_at, due_at, warn_at, breach_at,
    first_attempt_at, last_attempt_at, reaction_minutes, score, temperature, junk_reason_id,
    created_at, closed_at, external_id, utm_source, utm_medium, utm_campaign
)
SELECT
    (%(teams)s::bigint[])[ti],
    (%(sources)s::bigint[])[si],
    (%(names)s::text[])[1 + (g %% %(n_names)s)],
    '+7916' || lpad((g %% 10000000)::text, 7, '0'),
    CASE WHEN rd < 0.4 THEN 'lead' || g || '@example.ru' ELSE '' END,
    CASE WHEN rd < 0.2 THEN (%(companies)s::text[])[1 + (g %% %(n_companies)s)] ELSE '' END,
    CASE WHEN re < 0.5 THEN (%(messages)s::text[])[1 + (g %% %(n_messages)s)] ELSE '' END,
    kind, NULL,
    CASE WHEN first_at IS NOT NULL THEN (%(quals)s::bigint[])[ti][qi] END,
    first_at, NULL,
    CASE kind WHEN 'new' THEN coalesce(last_at + interval '30 minutes',
                                       created + interval '20 minutes')
              WHEN 'checked' THEN last_at + interval '1 day'
              ELSE created + interval '20 minutes' END,
    created + interval '15 minutes',
    created + interval '20 minutes',
    first_at, last_at,
    CASE WHEN first_at IS NOT NULL THEN reaction END,
    CASE WHEN kind IN ('converted', 'checked') THEN 30 + floor(rf * 71)::int ELSE 0 END,
    CASE WHEN kind IN ('converted', 'checked') THEN
        CASE WHEN 30 + floor(rf * 71)::int >= 70 THEN 'hot'
             WHEN 30 + floor(rf * 71)::int >= 40 THEN 'warm' ELSE 'potential' END
         ELSE 'potential' END,
    CASE WHEN kind = 'junk' THEN (%(reasons)s::bigint[])[1 + floor(rf * %(n_reasons)s)::int] END,
    created,
    CASE WHEN kind IN ('converted', 'junk') THEN last_at END,
    CASE WHEN si IN (1, 7) AND rd >= 0.1 THEN 'ext-' || g ELSE '' END,
    CASE WHEN si IN (1, 7) THEN (ARRAY['yandex', 'google', 'vk', 'telegram'])[1 + (g %% 4)]
         ELSE '' END,
    CASE WHEN si IN (1, 7) THEN 'cpc' ELSE '' END,
    CASE WHEN si IN (1, 7) THEN 'kitchens-' || (1 + (g %% 12)) ELSE '' END
FROM (
    SELECT s2.*,
           least(CASE WHEN first_at IS NULL THEN NULL
                      WHEN kind = 'converted' THEN first_at + rf * interval '3 days'
                      WHEN kind = 'junk' THEN first_at + rf * rf * interval '2 days'
                      WHEN kind = 'checked' THEN first_at + rf * interval '1 day'
                      ELSE first_at END,
                 %(now)s::timestamptz) AS last_at
    FROM (
        SELECT s1.*,
               CASE WHEN kind <> 'new' OR rc < 0.4
                    THEN created + reaction * interval '1 minute' END AS first_at
        FROM (
            SELECT g, ti, si, rc, rd, re, rf,
                   1 + floor(random() * %(qualifiers_per_team)s)::int AS qi,
                   CASE WHEN ra < 0.15 THEN 'converted' WHEN ra < 0.78 THEN 'junk'
                        WHEN ra < 0.86 THEN 'checked' ELSE 'new' END AS kind,
                   -- the day over the last 12 months (up to yesterday), the hour weighted to
                   -- the working day (two uniforms averaged: 08:00-21:00, peaking at 14:30)
                   date_trunc('day', %(now)s::timestamptz - interval '1 day'
                                     - floor(rb * 364) * interval '1 day')
                     + interval '8 hours' + (random() + random()) / 2 * interval '13 hours'
                       AS created,
                   -- reaction: exponential, mean ~12 minutes
                   round((0.5 - ln(1 - random() * 0.9999) * 11.5)::numeric, 2)::float8
                       AS reaction
            FROM (
                SELECT g,
                       1 + floor(random() * %(n_teams)s)::int AS ti,
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

CONTACTS_SQL = """
INSERT INTO {contact} (team_id, name, phone, email, company_id, created_at)
SELECT (%(sales_for)s::bigint[])[array_position(%(teams)s::bigint[], l.team_id)],
       l.name, l.phone, l.email, NULL, l.closed_at
FROM {lead} l
WHERE l.id > %(lo)s AND l.id <= %(hi)s AND l.state = 'converted'
"""

# u: dispute group (upheld < 0.03 <= rejected < 0.07 <= open < 0.09); v: stage; w: closer,
# timing; x: time to close; y: amount and loss reason. Each OFFSET 0 keeps its subquery whole:
# flattened, every use of `stage` computed the md5s again (27,000 deals: 41 s -> a second).
DEALS_SQL = f"""
INSERT INTO {{deal}} (team_id, lead_id, contact_id, company_id, stage, closer_id, meeting_at,
                     meeting_address, amount, loss_reason_id, created_at, accepted_at, closed_at)
SELECT team_id, lead_id, contact_id, NULL, stage, closer_id,
       CASE WHEN stage IN ('meeting', 'proposal', 'won', 'lost')
            THEN accepted + interval '1 day' END,
       CASE WHEN stage IN ('meeting', 'proposal', 'won', 'lost')
            THEN 'ул. Ленина, ' || (lead_id %% 200 + 1) ELSE '' END,
       CASE WHEN stage = 'won' THEN round((150000 + y * 750000)::numeric, -3) END,
       CASE WHEN stage = 'lost'
            THEN (%(losses)s::bigint[])[1 + floor(y * %(n_losses)s)::int] END,
       handed,
       CASE WHEN stage <> 'handed_off' THEN accepted END,
       CASE WHEN stage IN ('won', 'lost') THEN closing
            WHEN stage = 'returned' THEN returned END
FROM (
    SELECT s.*,
           CASE WHEN accepted > %(now)s AND stage0 <> 'returned' THEN 'handed_off'
                WHEN stage0 IN ('won', 'lost') AND closing > %(now)s THEN 'proposal'
                ELSE stage0 END AS stage
    FROM (
        SELECT l.id AS lead_id, c.id AS contact_id,
               (%(sales_for)s::bigint[])[array_position(%(teams)s::bigint[], l.team_id)]
                   AS team_id,
               CASE WHEN u >= 0.09 AND v < 0.04 AND w < 0.5 THEN NULL
                    ELSE (%(closers)s::bigint[])
                         [(%(sales_pos)s::int[])[array_position(%(teams)s::bigint[], l.team_id)]]
                         [1 + floor(w * %(closers_per_team)s)::int]
               END AS closer_id,
               l.closed_at AS handed,
               l.closed_at + (0.2 + w * 6) * interval '1 hour' AS accepted,
               l.closed_at + (0.2 + w * 6) * interval '1 hour'
                   + (2 + x * 45) * interval '1 day' AS closing,
               l.closed_at + (1 + w * 2) * interval '1 day' AS returned,
               y,
               CASE WHEN u < 0.03 THEN 'returned'
                    WHEN u < 0.09 AND u >= 0.07 THEN
                        CASE WHEN v < 0.5 THEN 'accepted' ELSE 'meeting' END
                    WHEN v < 0.04 AND u >= 0.09 THEN 'handed_off'
                    WHEN v < 0.09 THEN 'accepted'
                    WHEN v < 0.14 THEN 'meeting'
                    WHEN v < 0.22 THEN 'proposal'
                    WHEN v < 0.55 THEN 'won'
                    ELSE 'lost' END AS stage0
        FROM (
            SELECT l.*,
                   -- no dispute on a handoff of the last 4 days (raised and ruled later)
                   CASE WHEN l.closed_at > %(now)s::timestamptz - interval '4 days' THEN 1.0
                        ELSE {h("l.id", "u")} END AS u,
                   {h("l.id", "v")} AS v, {h("l.id", "w")} AS w,
                   {h("l.id", "x")} AS x, {h("l.id", "y")} AS y
            FROM {{lead}} l
            WHERE l.id > %(lo)s AND l.id <= %(hi)s AND l.state = 'converted'
            OFFSET 0
        ) l
        JOIN {{contact}} c ON c.phone = l.phone
            AND c.team_id
                = (%(sales_for)s::bigint[])[array_position(%(teams)s::bigint[], l.team_id)]
        OFFSET 0
    ) s
    OFFSET 0
) s2
"""

HANDOFFS_SQL = """
INSERT INTO {handoff} (lead_id, deal_id, qualifier_id, from_team_id, team_id, handed_off_at)
SELECT d.lead_id, d.id, l.assignee_id, l.team_id, d.team_id, d.created_at
FROM {deal} d JOIN {lead} l ON l.id = d.lead_id
WHERE d.lead_id > %(lo)s AND d.lead_id <= %(hi)s
"""

DISPUTES_SQL = f"""
INSERT INTO {{dispute}} (deal_id, handoff_id, criterion_id, criterion_question, claim,
                        raised_by_id, raised_at, qualifier_comment, outcome, resolution_note,
                        resolved_by_id, resolved_at)
SELECT d.id, ho.id, NULL, 'Бюджет подтверждён?', 'Клиент говорит, что бюджета нет.',
       d.closer_id, ho.handed_off_at + (0.1 + w * 0.8) * interval '1 day',
       'Бюджет назвал сам клиент.',
       CASE WHEN u < 0.03 THEN 'upheld' WHEN u < 0.07 THEN 'rejected' ELSE '' END,
       CASE WHEN u < 0.07 THEN 'Решение руководителя.' ELSE '' END,
       CASE WHEN u < 0.07 THEN %(head)s END,
       CASE WHEN u < 0.03 THEN d.closed_at
            WHEN u < 0.07 THEN ho.handed_off_at + (1 + w * 3) * interval '1 day' END
FROM (
    SELECT d.*, {h("d.lead_id", "u")} AS u, {h("d.lead_id", "w")} AS w FROM {{deal}} d
    WHERE d.lead_id > %(lo)s AND d.lead_id <= %(hi)s
) d
JOIN {{handoff}} ho ON ho.deal_id = d.id
WHERE d.u < 0.09 AND d.closer_id IS NOT NULL
  AND ho.handed_off_at <= %(now)s::timestamptz - interval '4 days'
"""

# Four answers of every converted or checked lead, chosen by md5 of its id.
ANSWERS_SQL = f"""
INSERT INTO {{answer}} (lead_id, criterion_id, question, kind, value, label, verdict, points,
                       knocked_out, answered_by_id, answered_at, origin)
SELECT l.id, NULL, q.question, q.kind, q.value, q.label, 'neutral', 0, false, l.assignee_id,
       l.created_at + interval '10 minutes', 'qualifier'
FROM (
    SELECT id, assignee_id, created_at, 1 + floor({h("id", "a1")} * 3)::int AS a1,
           1 + floor({h("id", "a2")} * 3)::int AS a2, {h("id", "a3")} < 0.6 AS a3,
           (5 + floor({h("id", "a4")} * 20))::int::text AS a4
    FROM {{lead}}
    WHERE id > %(lo)s AND id <= %(hi)s AND state IN ('converted', 'checked')
) l
CROSS JOIN LATERAL (VALUES
    ('Бюджет?', 'choice', (ARRAY['low', 'mid', 'high'])[a1],
     (ARRAY['до 300 тыс.', '300–600 тыс.', 'больше 600 тыс.'])[a1]),
    ('Когда покупка?', 'choice', (ARRAY['month', 'quarter', 'year'])[a2],
     (ARRAY['в этом месяце', 'в этом квартале', 'в этом году'])[a2]),
    ('Свой дом?', 'yes_no', CASE WHEN a3 THEN 'yes' ELSE 'no' END,
     CASE WHEN a3 THEN 'Да' ELSE 'Нет' END),
    ('Площадь кухни, м²', 'number', a4, a4)
) AS q(question, kind, value, label)
"""

# The first call of every called lead, and a second one for 35%.
ATTEMPTS_SQL = f"""
INSERT INTO {{attempt}} (lead_id, by_id, at, outcome, duration_s, note, callback_at)
SELECT id, assignee_id, at, outcome,
       CASE WHEN outcome = 'reached' THEN duration ELSE 0 END, '', NULL
FROM (
    SELECT l.id, l.assignee_id, l.first_attempt_at AS at,
           CASE WHEN l.state IN ('converted', 'checked') THEN 'reached'
                WHEN l.state = 'new' THEN CASE WHEN a < 0.7 THEN 'no_answer' ELSE 'busy' END
                WHEN a < 0.55 THEN 'reached' WHEN a < 0.8 THEN 'no_answer'
                WHEN a < 0.9 THEN 'wrong_number' ELSE 'busy' END AS outcome,
           CASE WHEN l.state = 'junk' THEN 10 + floor(b * 200)::int
                ELSE 60 + floor(b * 540)::int END AS duration
    FROM (SELECT l.*, {h("l.id", "a")} AS a, {h("l.id", "b")} AS b FROM {{lead}} l
          WHERE l.id > %(lo)s AND l.id <= %(hi)s AND l.first_attempt_at IS NOT NULL) l
    UNION ALL
    SELECT l.id, l.assignee_id, l.last_attempt_at, 'reached', 120 + floor(b * 900)::int
    FROM (SELECT l.*, {h("l.id", "c")} AS c, {h("l.id", "b")} AS b FROM {{lead}} l
          WHERE l.id > %(lo)s AND l.id <= %(hi)s AND l.first_attempt_at IS NOT NULL
            AND l.last_attempt_at > l.first_attempt_at) l
    WHERE l.c < 0.35
) calls
"""

EVENTS_SQL = """
INSERT INTO {event} (lead_id, actor_id, at, kind, from_state, to_state, reason_id, note,
                     attempt_id)
SELECT l.id, l.assignee_id, e.at, 'transition', e.from_state, e.to_state, e.reason_id, '',
       NULL
FROM {lead} l
CROSS JOIN LATERAL (
    VALUES ('new', 'checked', NULL::bigint,
            l.first_attempt_at + (coalesce(l.closed_at, l.last_attempt_at) - l.first_attempt_at)
                * 0.4,
            l.state IN ('converted', 'checked')),
           ('checked', 'converted', NULL::bigint, l.closed_at, l.state = 'converted'),
           ('new', 'junk', l.junk_reason_id, l.closed_at, l.state = 'junk')
) AS e(from_state, to_state, reason_id, at, applies)
WHERE l.id > %(lo)s AND l.id <= %(hi)s AND e.applies
"""

DEADLINES_SQL = """
INSERT INTO {deadline} (lead_id, lead_team_id, kind, due_at, raised_at, cancelled_at)
SELECT id, team_id, kind, due,
       CASE WHEN NOT stopped AND due <= %(now)s THEN due + random() * interval '25 seconds' END,
       CASE WHEN stopped THEN stop_at END
FROM (
    SELECT l.id, l.team_id, k.kind, k.due, k.stop_at,
           coalesce(k.stop_at <= k.due, false) AS stopped
    FROM {lead} l
    CROSS JOIN LATERAL (
        VALUES ('warn', l.warn_at, l.first_attempt_at),
               ('breach', l.breach_at, l.first_attempt_at)
    ) AS k(kind, due, stop_at)
    WHERE l.id > %(lo)s AND l.id <= %(hi)s
) s
"""


def grow(world: dict, lo_g: int, hi_g: int, args, now, pool: dict) -> dict:
    """Leads g = lo_g .. hi_g-1 and their derived rows; returns rows and seconds per step."""
    t = tables()
    weights = [w for *_rest, w in harness.SOURCES]
    cum, acc = [], 0.0
    for w in weights:
        acc += w / sum(weights)
        cum.append(acc)
    cum[-1] = 1.000001
    teams = [team.pk for team in world["teams"]]
    sales_pos = [1 + (i * N_SALES_TEAMS // N_QUAL_TEAMS) for i in range(N_QUAL_TEAMS)]
    base = {
        "teams": teams,
        "n_teams": N_QUAL_TEAMS,
        "sources": [s.pk for s in world["sources"]],
        "source_cum": cum,
        "reasons": [r.pk for r in world["reasons"]],
        "n_reasons": len(world["reasons"]),
        "losses": [r.pk for r in world["losses"]],
        "n_losses": len(world["losses"]),
        "quals": [[u.pk for u in members] for members in world["qualifiers"]],
        "qualifiers_per_team": QUALIFIERS_PER_TEAM,
        "closers": [[u.pk for u in members] for members in world["closers"]],
        "closers_per_team": CLOSERS_PER_TEAM,
        "sales_for": [world["sales"][p - 1].pk for p in sales_pos],
        "sales_pos": sales_pos,
        "names": pool["names"],
        "n_names": len(pool["names"]),
        "companies": pool["companies"],
        "n_companies": len(pool["companies"]),
        "messages": pool["messages"],
        "n_messages": len(pool["messages"]),
        "head": world["head"].pk,
        "now": now,
    }
    done = {}
    lo_id = scalar(f"SELECT coalesce(max(id), 0) FROM {t['lead']}")
    # --reuse: a step a --keep run finished is not done again (one stopped halfway resumes).
    reused = args.reuse and scalar(f"SELECT count(*) FROM {t['lead']}") >= hi_g - 1
    if reused:
        lo_id = 0
    t0, rows = time.perf_counter(), 0
    for lo in range(lo_g, hi_g, 250_000) if not reused else []:
        hi = min(hi_g, lo + 250_000) - 1
        seed = (args.seed + lo * 0.6180339887) % 1.0  # a different stream per chunk
        rows += run_sql(LEADS_SQL.format(**t), {**base, "lo": lo, "hi": hi}, f"leads {lo}", seed)
        print(f"    leads {lo:>9,} .. {hi:>9,}  {time.perf_counter() - t0:6.1f} s", flush=True)
    done["leads"] = (rows, time.perf_counter() - t0)
    hi_id = scalar(f"SELECT max(id) FROM {t['lead']}")
    # Fresh statistics first: with none, the planner joined the converted leads to every
    # contact of a team in a nested loop (the 1M step never finished).
    db_retry(lambda: execute(f"ANALYZE {t['lead']}"), "analyze")
    for what, statement, table in [
        ("contacts", CONTACTS_SQL, "contact"),
        ("deals", DEALS_SQL, "deal"),
        ("handoffs", HANDOFFS_SQL, "handoff"),
        ("disputes", DISPUTES_SQL, "dispute"),
        ("answers", ANSWERS_SQL, "answer"),
        ("contact attempts", ATTEMPTS_SQL, "attempt"),
        ("transition events", EVENTS_SQL, "event"),
        ("warn/breach deadlines", DEADLINES_SQL, "deadline"),
    ]:
        if reused and scalar(f"SELECT count(*) FROM {t[table]}"):
            print(f"    {what:<22} kept from the last run", flush=True)
            continue
        t0 = time.perf_counter()
        n = run_sql(statement.format(**t), {**base, "lo": lo_id, "hi": hi_id}, what)
        db_retry(lambda table=table: execute(f"ANALYZE {t[table]}"), "analyze")
        done[what] = (n, time.perf_counter() - t0)
        print(f"    {what:<22} {n:>10,} rows  {done[what][1]:6.1f} s", flush=True)
    t0 = time.perf_counter()
    for name in t.values():
        db_retry(lambda name=name: execute(f"VACUUM (ANALYZE) {name}"), "vacuum")
    print(f"    VACUUM ANALYZE         {time.perf_counter() - t0:6.1f} s", flush=True)
    return done


def data_check(world: dict, period) -> list[str]:
    """What the report says for team 01 and sales 1 over the measured quarter (untimed)."""
    from reports.people import insights, person_figures
    from reports.periods import Period
    from reports.selectors import qualification_figures, sales_figures

    team, sales = world["teams"][0], world["sales"][0]
    q = qualification_figures(team, Period(period.first_day, period.last_day, team.zone))
    people = [
        f"  {user.username}, quarter: {person_figures(user, period)}"
        for user in (world["qualifiers"][0][0], world["closers"][0][0])
    ]
    s = sales_figures(sales, Period(period.first_day, period.last_day, sales.zone))
    found = insights([t.pk for t in world["teams"] + world["sales"]], period)
    answers = [
        f"{a['question']} {a['label']}: {a['deals']:,} won {a['won']:,} lost {a['lost']:,} "
        f"away {a['disputed_away']}"
        for a in found["answers"]
    ]
    sources = [
        f"{r['source']} {r['leads']:,} junk {r['junk_rate']}% handoffs {r['handoffs']:,} "
        f"disputes {r['dispute_rate']}%"
        for r in found["sources"]
    ]
    return [
        f"  {team.name}, quarter: {q['leads']:,} leads in, called {q['called']:,}, reaction "
        f"median {q['reaction_median']} / p90 {q['reaction_p90']} min, within 15 min "
        f"{q['within_15_share']}%, converted {q['converted']:,}, junk {q['junk']:,}, won "
        f"{q['won']:,}, revenue {q['revenue']:,}, disputes {q['disputes']} (upheld "
        f"{q['upheld']}, rejected {q['rejected']}), SLA breaches {q['breaches']['total']:,}, "
        f"{len(q['weekly'])} weeks",
        f"  {sales.name}, quarter: {s['handoffs']:,} handoffs, accepted {s['accepted']:,}, won "
        f"{s['won']:,}, returned {s['returned']}, closed won/lost {s['closed_won']:,}/"
        f"{s['closed_lost']:,}, revenue {s['revenue']:,}, {len(s['closers'])} closers",
        *people,
        f"  insights, all 12 teams, quarter: {len(answers)} answers ({'; '.join(answers[:3])}; …)",
        f"  sources: {'; '.join(sources)}",
    ]


def build_rollups(world: dict) -> dict:
    """Build every closed day, then time a day's rebuild and a night's refresh job."""
    from datetime import timedelta as days_delta

    from django.utils import timezone

    from reports import insight_rollups, person_rollups, rollups
    from reports.models import (
        DirtyDay,
        InsightBuiltDay,
        InsightDay,
        PersonBuiltDay,
        PersonDay,
        TeamDay,
    )

    every = world["teams"] + world["sales"]
    TeamDay.objects.all().delete()
    DirtyDay.objects.all().delete()
    PersonDay.objects.all().delete()
    PersonBuiltDay.objects.all().delete()
    InsightDay.objects.all().delete()
    InsightBuiltDay.objects.all().delete()
    t0 = time.perf_counter()
    built = rollups.refresh(every, everything=True)["days"]
    jobs = {"full": (built, time.perf_counter() - t0)}
    print(f"  roll-ups: {built:,} team-days built in {jobs['full'][1]:.1f} s")
    t0 = time.perf_counter()
    built = person_rollups.refresh(everything=True)["person_days"]
    jobs["people"] = (built, time.perf_counter() - t0)
    print(f"  person roll-ups: {built:,} person-days built in {jobs['people'][1]:.1f} s")
    t0 = time.perf_counter()
    built = insight_rollups.refresh(everything=True)["insight_days"]
    jobs["insights"] = (built, time.perf_counter() - t0)
    print(f"  insight roll-ups: {built:,} team-days built in {jobs['insights'][1]:.1f} s")
    groups = rollups.groups(every)
    yesterday = timezone.localdate() - days_delta(days=1)
    one_day = []
    for _ in range(5):
        t0 = time.perf_counter()
        for group in groups:
            rollups.build(group, [yesterday - days_delta(days=1)])
        one_day.append((time.perf_counter() - t0) * 1000)
    jobs["day"] = one_day
    print(f"  one day of all 12 teams rebuilt: median {statistics.median(one_day):.0f} ms")
    person_day = []
    for _ in range(3):
        t0 = time.perf_counter()
        for zone in person_rollups.zones():
            person_rollups.build(zone, [yesterday - days_delta(days=1)])
        person_day.append((time.perf_counter() - t0) * 1000)
    jobs["person_day"] = person_day
    insight_day = []
    for _ in range(3):
        t0 = time.perf_counter()
        for zone in person_rollups.zones():
            insight_rollups.build(zone, [yesterday - days_delta(days=1)])
        insight_day.append((time.perf_counter() - t0) * 1000)
    jobs["insight_day"] = insight_day
    print(
        f"  one day of insights rebuilt (each zone in use): median "
        f"{statistics.median(insight_day):.0f} ms"
    )
    print(
        f"  one day of everybody rebuilt (each zone in use): median "
        f"{statistics.median(person_day):.0f} ms"
    )
    nightly = []
    for i in range(3):
        # The night: yesterday has no row yet, and late changes marked 30 older team-days.
        TeamDay.objects.filter(day__gte=yesterday - days_delta(days=1)).delete()
        now = timezone.now()
        DirtyDay.objects.bulk_create(
            DirtyDay(
                team=every[k % len(every)],
                day=yesterday - days_delta(days=3 + 9 * k + i),
                marked_at=now,
            )
            for k in range(30)
        )
        t0 = time.perf_counter()
        done = rollups.refresh(every)["days"]
        nightly.append(((time.perf_counter() - t0) * 1000, done))
    jobs["nightly"] = nightly
    print(
        "  refresh job after a night (yesterday + 30 marked team-days): median "
        f"{statistics.median(ms for ms, _n in nightly):.0f} ms, {nightly[0][1]} team-days written"
    )
    return jobs


def print_jobs(results: list[dict]) -> None:
    print("\nRoll-up jobs (in process, PostgreSQL's time included)")
    for step in results:
        jobs = step["jobs"]
        built, seconds = jobs["full"]
        print(
            f"{step['size']:>12,} leads: rebuild_rollups --all {seconds:.1f} s ({built:,} "
            f"team-days); one day of 12 teams {statistics.median(jobs['day']):.0f} ms (max "
            f"{max(jobs['day']):.0f}); refresh after a night "
            f"{statistics.median(ms for ms, _n in jobs['nightly']):.0f} ms (max "
            f"{max(ms for ms, _n in jobs['nightly']):.0f}); person roll-ups: all "
            f"{jobs['people'][1]:.1f} s ({jobs['people'][0]:,} person-days), one day "
            f"{statistics.median(jobs['person_day']):.0f} ms; insight roll-ups: all "
            f"{jobs['insights'][1]:.1f} s ({jobs['insights'][0]:,} team-days), one day "
            f"{statistics.median(jobs['insight_day']):.0f} ms"
        )


def table_sizes() -> str:
    from django.db import connection

    t = tables()
    parts = []
    with connection.cursor() as cur:
        for key in ("lead", "deal", "handoff", "dispute", "attempt", "event", "deadline"):
            cur.execute(
                f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{t[key]}')) FROM {t[key]}"
            )
            n, size = cur.fetchone()
            parts.append(f"{t[key]} {n:,} ({size})")
    return "  " + "; ".join(parts)


# --------------------------------------------------------------------------- measuring


def last_quarter(today: date) -> tuple[date, date]:
    q_start_month = 3 * ((today.month - 1) // 3) + 1
    this_start = date(today.year, q_start_month, 1)
    end = this_start - timedelta(days=1)
    start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    return start, end


def run_case(client, url: str, n: int, warmup: int) -> dict:
    """harness.time_gets, plus the SQL time by query and by kind of query."""
    r = harness.time_gets(client, url, n, warmup)
    per_query: dict[str, list[float]] = {}
    by_label: list[dict] = []
    sql_captured = []
    for statements in r["statements"]:
        groups: dict[str, list] = {}
        for sql, seconds in statements:
            ms = seconds * 1000
            per_query.setdefault(sql, []).append(ms)
            g = groups.setdefault(label(sql), [0, 0.0])
            g[0] += 1
            g[1] += ms
        by_label.append(groups)
        sql_captured.append(sum(seconds for _sql, seconds in statements) * 1000)
    return {
        **r,
        "sql_captured": sql_captured,
        "per_query": per_query,
        "by_label": by_label,
        "bytes": len(r["response"].content),
    }


def shape(sql: str) -> str:
    """A query with its literals taken out, named by what it reads, for grouping."""
    s = re.sub(r"'[^']*'", "?", sql)
    s = re.sub(r"\b\d+(\.\d+)?\b", "?", s)
    return re.sub(r"\s+", " ", s)


def label(sql: str) -> str:
    s = re.sub(r"\s+", " ", sql)
    m = re.search(r'FROM "(\w+)"', s)
    table = m.group(1) if m else "?"
    if s.startswith(("SAVEPOINT", "RELEASE")):
        return s.split(" ")[0]
    aggs = re.findall(r"(COUNT|SUM|PERCENTILE_CONT|DATE_TRUNC|EXTRACT)\(", s)
    joins = sorted(set(re.findall(r'JOIN "(\w+)"', s)))
    what = "+".join(dict.fromkeys(a.lower() for a in aggs)) or "rows"
    group = " GROUP BY" if " GROUP BY " in s else ""
    return f"{table}{'+' + '+'.join(joins) if joins else ''}: {what}{group}"[:70]


# --------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_bench_reports")
    started = time.perf_counter()
    created = harness.ensure_database(url)
    print(f"database {harness.server_params(url)[0]}: {'created' if created else 'exists'}")
    harness.django_setup()
    harness.migrate_and_collect()

    import django
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    assert not settings.DEBUG
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
        cur.execute("SHOW shared_buffers")
        buffers = cur.fetchone()[0]
        cur.execute("SHOW work_mem")
        work_mem = cur.fetchone()[0]
    print(
        f"PostgreSQL {pg_version} (shared_buffers {buffers}, work_mem {work_mem}); Django "
        f"{django.get_version()}; DEBUG off; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    world = make_world()
    print(
        f"{world['people']} people: {N_QUAL_TEAMS} qualification teams x "
        f"{QUALIFIERS_PER_TEAM} qualifiers, {N_SALES_TEAMS} sales teams x {CLOSERS_PER_TEAM} "
        "closers, 2 sales heads"
    )
    if not args.reuse:
        clear(world)
    pool = harness.pools()
    now = timezone.now()
    first, last = last_quarter(timezone.localdate())
    period_q = f"from={first:%Y-%m-%d}&to={last:%Y-%m-%d}"
    qualifier, closer = world["qualifiers"][0][0], world["closers"][0][0]
    cases = [
        ("team_one", "one", "/reports/?" + period_q, "team report", "head of 1 qual + 1 sales"),
        (
            "person_q",
            "one",
            f"/reports/people/{qualifier.pk}/?{period_q}",
            "person report",
            f"qualifier {qualifier.username}",
        ),
        (
            "person_c",
            "one",
            f"/reports/people/{closer.pk}/?{period_q}",
            "person report",
            f"closer {closer.username}",
        ),
        ("team_all", "all", "/reports/?" + period_q, "team report", "head of all 12 teams"),
        (
            "api_all",
            "all",
            "/api/v1/reports/teams/?" + period_q,
            "API JSON",
            "head of all 12 teams",
        ),
        (
            "api_csv_all",
            "all",
            "/api/v1/reports/teams/?format=csv&" + period_q,
            "API CSV",
            "head of all 12 teams",
        ),
        ("csv_all", "all", "/reports/?format=csv&" + period_q, "page CSV", "head of all 12 teams"),
        ("team_all_30", "all", "/reports/", "team report", "all 12, last 30 days"),
        ("board_one", "one", "/reports/leaderboard/?" + period_q, "leaderboard", "head of 1 + 1"),
        ("board_all", "all", "/reports/leaderboard/?" + period_q, "leaderboard", "all 12 teams"),
        ("board_30", "all", "/reports/leaderboard/", "leaderboard", "all 12, last 30 days"),
        (
            "person_q_30",
            "one",
            f"/reports/people/{qualifier.pk}/",
            "person report",
            "qualifier, 30 d",
        ),
        ("insights_all", "all", "/reports/insights/?" + period_q, "insights", "all 12 teams"),
        ("insights_30", "all", "/reports/insights/", "insights", "all 12, last 30 days"),
    ]
    print(
        f"period: {first} .. {last} (the last whole quarter; the page compares it with the "
        f"{(last - first).days + 1} days before); {args.requests} timed + {args.warmup} warm-up "
        "requests per case"
    )
    print()

    from reports.periods import Period

    results, machine, loaded = [], [], 0
    for size in args.sizes:
        print(f"== {size:,} leads")
        t0 = time.perf_counter()
        grow(world, loaded + 1, size + 1, args, now, pool)
        if args.reuse:  # the first check below reads the raw rows: nothing built
            t = tables()
            execute(
                f"TRUNCATE {t['team_day']}, {t['dirty_day']}, {t['person_day']}, "
                f"{t['person_built']}, {t['person_dirty']}, {t['insight_day']}, "
                f"{t['insight_built']}, {t['insight_dirty']}"
            )
        loaded = size
        print(f"  loaded in {time.perf_counter() - t0:.1f} s")
        print(table_sizes())
        quarter = Period(first, last, world["teams"][0].zone)
        raw = data_check(world, quarter)
        step_jobs = build_rollups(world)
        rolled = data_check(world, quarter)
        for line in rolled:
            print(line)
        if rolled != raw:
            sys.exit(f"roll-ups differ from the raw rows:\n{raw}\n{rolled}")
        print("  the same figures from the raw rows and from the roll-ups: equal")
        machine.append(wait_idle(f"reports at {size:,}", args))
        step = {"size": size, "runs": {}, "jobs": step_jobs}
        for key, mode, path, what, who in cases:
            teams = db_retry(lambda mode=mode: set_managers(world, mode), "managers")
            client = harness.logged_in(world["head"])
            t1 = time.perf_counter()
            r = run_case(client, path, args.requests, args.warmup)
            r["teams"] = teams
            step["runs"][key] = r
            print(
                f"  {what:<14} {who:<28} p50 {pct(r['total'], 0.5):7.1f} ms  p95 "
                f"{pct(r['total'], 0.95):7.1f} ms  max {max(r['total']):7.1f} ms  (SQL p50 "
                f"{pct(r['sql'], 0.5):7.1f} ms, {r['counts'][-1]} queries; "
                f"{time.perf_counter() - t1:.0f} s, load {r['load'][0]:.1f}->{r['load'][1]:.1f})",
                flush=True,
            )
        results.append(step)
        print()

    print_table(results, cases, args)
    print_jobs(results)
    print_shapes(results[-1], cases)
    print_explains(results[-1], cases)
    harness.print_machine(machine, width=20)

    set_managers(world, "all")
    connection.close()
    if args.keep:
        print(f"\n--keep: data left in {harness.server_params(url)[0]}")
    elif created:
        harness.drop_database(url)
        print(f"\ndropped database {harness.server_params(url)[0]} (created by this run)")
    else:
        clear(world)
        connection.close()
        print("\nremoved the bench leads (the database existed before this run)")
    print(f"total run time {time.perf_counter() - started:.0f} s")


def print_table(results: list[dict], cases: list, args, titles: list | None = None) -> None:
    print(
        "Server time per request, in process (django.test.Client, perf_counter around each "
        "call; SQL = time in the driver)"
    )
    first = "indexes" if titles else "leads"
    width = 16 if titles else 10
    head = (
        f"{first:>{width}} {'page':<14} {'as':<28} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8} {'SQL p50':>8} {'SQL p95':>8} {'queries':>7}  <{TARGET_MS:.0f}ms"
    )
    print(head)
    print("-" * len(head))
    for i, step in enumerate(results):
        for key, _mode, _path, what, who in cases:
            r = step["runs"][key]
            p95 = pct(r["total"], 0.95)
            counts = sorted(set(r["counts"]))
            count = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
            first = titles[i] if titles else f"{step['size']:,}"
            print(
                f"{first:>{width}} {what:<14} {who:<28} {len(r['total']):>3} "
                f"{pct(r['total'], 0.5):>8.1f} {p95:>8.1f} {max(r['total']):>8.1f} "
                f"{pct(r['sql'], 0.5):>8.1f} {pct(r['sql'], 0.95):>8.1f} {count:>7}  "
                f"{verdict(max(r['total']), p95)}"
            )
    if len(results) > 1:
        a, b = results[0], results[-1]
        names = titles or [f"{a['size']:,}", f"{b['size']:,}"]
        for key, _mode, _path, what, who in cases:
            x, y = pct(a["runs"][key]["total"], 0.5), pct(b["runs"][key]["total"], 0.5)
            print(
                f"{what} ({who}): p50 {x:.0f} ms {names[0]} -> {y:.0f} ms {names[-1]} "
                f"({y / x:.2f}x)"
            )


def verdict(worst: float, p95: float) -> str:
    if worst < TARGET_MS:
        return "yes"
    return "p95 yes, max no" if p95 < TARGET_MS else "NO"


def print_shapes(step: dict, cases: list) -> None:
    """Where each page's SQL time goes, by kind of query (per request, median over them)."""
    print(
        f"\nSQL time per request by kind of query at {step['size']:,} leads (median over the "
        "requests; xN = queries of that kind per request)"
    )
    for key, _mode, _path, what, who in cases:
        r = step["runs"][key]
        names = {name for groups in r["by_label"] for name in groups}
        rows = []
        for name in names:
            found = [groups.get(name, [0, 0.0]) for groups in r["by_label"]]
            rows.append(
                (statistics.median(ms for _n, ms in found), max(n for n, _ms in found), name)
            )
        print(f"  {what}, {who} (teams: {', '.join(r['teams'])}):")
        for ms, count, name in sorted(rows, reverse=True)[:9]:
            print(f"    {ms:9.1f} ms  x{count:<3} {name}")


def print_explains(step: dict, cases: list) -> None:
    """EXPLAIN ANALYZE the slowest query of each kind, per case; full plans of the kinds that
    cost the most."""
    print(
        f"\nThe slowest query of each kind at {step['size']:,} leads: time in the page (median) "
        "and EXPLAIN (ANALYZE, BUFFERS) execution time, run again now"
    )
    full, seen = [], set()
    for key, _mode, _path, what, who in cases:
        r = step["runs"][key]
        worst: dict[str, tuple[float, str]] = {}
        for sql, times in r["per_query"].items():
            ms = statistics.median(times)
            name = label(sql)
            if name not in worst or ms > worst[name][0]:
                worst[name] = (ms, sql)
        print(f"  {what}, {who}:")
        for name, (ms, sql) in sorted(worst.items(), key=lambda kv: -kv[1][0])[:7]:
            if ms < 1:
                continue
            explained, plan = explain(sql)
            print(f"    {ms:8.1f} ms in page, EXPLAIN {explained:8.1f} ms  {name}")
            kind = name.replace("extract", "").replace("date_trunc+", "")
            if kind not in seen and explained > 15:
                seen.add(kind)
                full.append((explained, what, who, sql, plan))
    for _ms, what, who, sql, plan in sorted(full, key=lambda f: -f[0])[:9]:
        print(f"\n--- {what}, {who}: EXPLAIN (ANALYZE, BUFFERS)")
        print(re.sub(r"\s+", " ", sql))
        print(plan)


if __name__ == "__main__":
    main()
