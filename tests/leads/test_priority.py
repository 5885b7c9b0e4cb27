"""The priority rule (leads/priority.py) as a table: one team's leads of every kind, the order
the queue shows them in, and the order Take next hands them out."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from leads import priority, services
from leads.models import JunkReason, Lead
from leads.selectors import leads_visible_to
from tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def _lead(world, name: str, arrived_min_ago: int, **fields) -> Lead:
    now = timezone.now()
    lead = make_lead(
        world.team,
        name=name,
        phone="",
        email=f"{name}@example.com",
        now=now - arrived_min_ago * MINUTE,
    )
    if fields:
        Lead.objects.filter(pk=lead.pk).update(**fields)
    return lead


@pytest.fixture
def table(world) -> dict[str, Lead]:
    """Each row: name, minutes since arrival, what the lead looks like now."""
    now = timezone.now()
    me, mate = world.qualifier, world.teammate
    called = now - 30 * MINUTE
    return {
        "my-claim": _lead(world, "my-claim", 3, assignee=me, claim_expires_at=now + 10 * MINUTE),
        "my-callback-due": _lead(
            world,
            "my-callback-due",
            300,
            assignee=me,
            first_attempt_at=called,
            due_at=now - 2 * MINUTE,
        ),
        "my-callback-later": _lead(
            world,
            "my-callback-later",
            300,
            assignee=me,
            first_attempt_at=called,
            due_at=now + 60 * MINUTE,
        ),
        "fresh-2-left": _lead(world, "fresh-2-left", 18),
        # A missed caller waits by the phone: before every fresh lead, longest waiting first.
        "missed-new": _lead(world, "missed-new", 1, waiting_since=now - MINUTE),
        "missed-again": _lead(
            world,
            "missed-again",
            250,
            first_attempt_at=called,
            last_attempt_at=called,
            due_at=now + 20 * MINUTE,
            waiting_since=now - 5 * MINUTE,
        ),
        "mate-claim-missed": _lead(
            world,
            "mate-claim-missed",
            4,
            assignee=mate,
            claim_expires_at=now + 10 * MINUTE,
            due_at=now + 30 * MINUTE,
            waiting_since=now - 2 * MINUTE,
        ),
        "fresh-15-left": _lead(world, "fresh-15-left", 5),
        "mate-lapsed-claim": _lead(
            world, "mate-lapsed-claim", 1, assignee=mate, claim_expires_at=now - MINUTE
        ),
        "breached-1h": _lead(world, "breached-1h", 60),
        "breached-2h": _lead(world, "breached-2h", 120),
        "retry-due": _lead(world, "retry-due", 200, first_attempt_at=called, due_at=now - MINUTE),
        "retry-later": _lead(
            world, "retry-later", 100, first_attempt_at=called, due_at=now + 5 * MINUTE
        ),
        "mate-live-claim": _lead(
            world, "mate-live-claim", 2, assignee=mate, claim_expires_at=now + 10 * MINUTE
        ),
        "mate-checked": _lead(
            world, "mate-checked", 400, assignee=mate, first_attempt_at=called, state="checked"
        ),
        "my-checked": _lead(
            world,
            "my-checked",
            500,
            assignee=me,
            first_attempt_at=called,
            state="checked",
            due_at=now - 400 * MINUTE,
        ),
    }


# The README's table, row by row: what the qualifier sees, in order, and each row's rank.
QUEUE = [
    ("my-callback-due", "MINE"),
    ("my-claim", "MINE"),
    ("missed-again", "MISSED"),
    ("missed-new", "MISSED"),
    ("fresh-2-left", "FRESH"),
    ("fresh-15-left", "FRESH"),
    ("mate-lapsed-claim", "FRESH"),
    ("breached-1h", "BREACHED"),
    ("breached-2h", "BREACHED"),
    ("retry-due", "RETRY"),
    ("my-checked", "LATER"),
    ("retry-later", "LATER"),
    ("mate-live-claim", "LATER"),
    ("mate-claim-missed", "LATER"),
    ("my-callback-later", "LATER"),
]


# The rank statement is PostgreSQL's: SQLite has no LIMIT inside a UNION and reads rank by rank.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the rank statement runs on PostgreSQL only"
)


def _default_view(world):
    return leads_visible_to(world.qualifier).filter(priority.in_default_view(world.qualifier))


def test_the_queue_shows_the_lead_to_call_now_first(world, table):
    rows, cursor = priority.queue_page(_default_view(world), world.qualifier, timezone.now())
    assert [(row.lead.name, row.rank.name) for row in rows] == QUEUE
    assert cursor == ""


def test_pages_continue_across_ranks_without_gaps_or_repeats(world, table):
    now = timezone.now()
    seen, cursor = [], ""
    while True:
        rows, cursor = priority.queue_page(
            _default_view(world), world.qualifier, now, after=cursor, size=3
        )
        seen += [row.lead.name for row in rows]
        if not cursor:
            break
    assert seen == [name for name, _rank in QUEUE]


def test_take_next_follows_the_same_order_and_never_takes_a_live_claim(world, table):
    newcomer = UserFactory(username="newcomer")
    world.team.members.add(newcomer)
    spam = JunkReason.objects.get()
    handed = []
    while lead := services.lead_claim_next(user=newcomer, teams=[world.team]):
        handed.append(lead.name)
        services.lead_junk(lead=lead, by=newcomer, reason=spam)
    takeable = [name for name, rank in QUEUE if rank in ("MISSED", "FRESH", "BREACHED", "RETRY")]
    assert handed == takeable


def test_my_own_lead_in_progress_comes_before_anything_else(world, table):
    lead = services.lead_claim_next(user=world.qualifier, teams=[world.team])
    assert lead.name == "my-callback-due"


def test_other_peoples_checked_leads_show_when_the_state_filter_asks(client, world, table):
    client.force_login(world.qualifier)
    default = client.get(reverse("leads:queue")).content.decode()
    assert "my-checked" in default and "mate-checked" not in default
    checked = client.get(reverse("leads:queue"), {"state": "checked"}).content.decode()
    assert "my-checked" in checked and "mate-checked" in checked


def test_the_ranks_read_in_one_statement_or_one_by_one_give_the_same_pages(
    world, table, monkeypatch
):
    """PostgreSQL reads the takeable ranks in one UNION ALL (priority._read_at_once); a
    database without LIMIT inside a UNION (SQLite) reads rank by rank: the same pages."""
    now = timezone.now()

    def pages(size: int) -> list[list[tuple[str, str]]]:
        seen, cursor = [], ""
        while True:
            rows, cursor = priority.queue_page(
                _default_view(world), world.qualifier, now, after=cursor, size=size
            )
            seen.append([(row.lead.name, row.rank.name) for row in rows])
            if not cursor:
                return seen

    first = {size: pages(size) for size in (1, 4, 50)}
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    assert {size: pages(size) for size in (1, 4, 50)} == first
    assert [row for page in first[4] for row in page] == QUEUE


def test_the_queue_page_reads_as_many_statements_for_more_rows(client, world, table):
    """A row reading a field outside priority.ROW_FIELDS (or a relation not selected) would
    cost a query per row."""

    def statements() -> int:
        count = 0

        def counting(execute, *args):
            nonlocal count
            count += 1
            return execute(*args)

        with connection.execute_wrapper(counting):
            assert client.get(reverse("leads:queue")).status_code == 200
        return count

    client.force_login(world.qualifier)
    before = statements()
    now = timezone.now()
    for i in range(10):
        held = {"assignee": world.teammate, "claim_expires_at": now + 10 * MINUTE}
        _lead(world, f"more-held-{i}", 2 + i, **held)
        _lead(world, f"more-missed-{i}", 3 + i, waiting_since=now - MINUTE)
    assert statements() == before


@on_postgresql
def test_a_kept_rank_statement_reads_what_a_fresh_one_reads_at_every_moment(
    world, table, monkeypatch
):
    """The rank statement is compiled once per shape and run again with each moment and
    cursor (priority.RankStatements): as time passes leads change rank — a fresh lead's
    window closes, a claim lapses, a retry comes due — and a kept statement must read each
    moment's list exactly as one compiled for that moment."""
    start = timezone.now()
    moments = [start + minutes * MINUTE for minutes in (0, 3, 11, 16, 70, 130)]

    def pages(now, size):
        seen, cursor = [], ""
        while True:
            rows, cursor = priority.queue_page(
                _default_view(world), world.qualifier, now, after=cursor, size=size
            )
            seen.append([(row.lead.name, row.rank.name, row.lead.source.name) for row in rows])
            if not cursor:
                return seen

    kept = {(now, size): pages(now, size) for now in moments for size in (3, 50)}
    assert len(priority._statements._kept) >= 2  # the first and the "Show more" shapes
    monkeypatch.setattr(priority._statements, "get", lambda *args: None)
    assert {(now, size): pages(now, size) for now in moments for size in (3, 50)} == kept
    ranks_seen = {rank for page in kept.values() for rows in page for _, rank, _ in rows}
    assert ranks_seen >= {"MINE", "MISSED", "FRESH", "BREACHED", "RETRY", "LATER"}


@on_postgresql
def test_a_list_filtered_by_a_moment_is_compiled_each_time(world, table):
    """The age filter puts the moment into the list's own filters: its shape changes with
    every request, so its statement is not kept (the cache would only fill)."""
    from leads.selectors import AGE_FILTERS

    now = timezone.now()
    last_day = _default_view(world).filter(AGE_FILTERS["24h"](now))
    rows, _ = priority.queue_page(last_day, world.qualifier, now, size=50)
    assert [(row.lead.name, row.rank.name) for row in rows] == QUEUE  # all arrived today
    leads = last_day.filter(state__in=Lead.OPEN_STATES)
    moments = priority._Moments.of(now, None, None)
    assert priority._statements.get(leads, world.qualifier, priority.TAKEABLE, 51, moments) is None


@on_postgresql
def test_the_planner_knows_how_many_leads_were_never_called(world):
    """Taken column by column, "state = new" and "never called" look independent, and the
    planner guessed a fraction of a team's never-called leads: with a backlog of breached
    leads it then sorted the whole backlog for the BREACHED rank instead of walking
    `lead_never_called` for one page (0.56 s against 0.3 ms at 10M). The two columns'
    statistics together (leads 0031) give it the real count."""
    now = timezone.now()
    first = make_lead(world.team, name="first")
    moments = {name: getattr(first, name) for name in ("warn_at", "breach_at")}

    def leads(count: int, **fields) -> list[Lead]:
        return [
            Lead(
                team=world.team,
                source=first.source,
                created_at=now,
                due_at=now,
                **moments,
                **fields,
            )
            for _ in range(count)
        ]

    Lead.objects.bulk_create(
        leads(4000, state="junk", first_attempt_at=now)
        + leads(400, state="new", first_attempt_at=now)
        + leads(400, state="new", first_attempt_at=None)
    )
    never_called = Lead.objects.filter(state="new", first_attempt_at=None)
    with connection.cursor() as cur:
        cur.execute("ANALYZE leads_lead")
        sql, params = never_called.values("id").query.sql_with_params()
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        estimate = cur.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert never_called.count() / 2 <= estimate <= never_called.count() * 2
