#!/usr/bin/env python
"""The API's `?q=` (`GET /api/v1/leads/?q=…`, issue 16.1: p95 under 50 ms at 1M and 10M) on a
database another script built (`bench/scale_bench.py`'s `crm_bench_1m`, `crm_bench_10m`, or
`bench/search_bench.py --keep`), **read-only**: the connection's transactions are read-only
(`default_transaction_read_only`), no migration, no user made — the qualifier is the
harness's first (`bench-q01-1`), the admin a superuser that exists only in memory
(`force_authenticate`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_1m \\
        nice -n 10 .venv/bin/python bench/api_search_bench.py [--requests 30]

For a qualifier of one team and an admin, queries drawn from the stored leads as
`search_bench.queries` draws them (a whole phone, the last four digits, a name and surname, a
surname, a common surname, a surname's first five letters), each asked of the pagination
before this work (`NewestMatchesFirst`: all the matches sorted) and of the windows of arrival
(`NewestLeadMatchesFirst`), in turn, the order alternating: the first page, and for words
the second (its `next` link) and the way back (the second's `previous` link). Every answer of
the two is compared — the same leads, the same `next` and `previous` — or the script stops.
Prints p50/p95 of the server time (in process, django.test's APIClient) and of its SQL, the
queries per request, and the load average. `--check N` then pages N words queries per user (also
a qualifier of two teams and a head of all ten) at page sizes from 1 to 500, now and then with
another filter, four pages forward and two back, comparing every answer (`--requests 0`: the
check alone).

`--rows` compares how the page is written instead, both ways with the windows: DRF's
`LeadSerializer` (before: `ListModelMixin.list`, the leads as model objects with their source,
junk reason and phones and e-mails prefetched) against `leads.api.lead_rows` (after: the
leads' values, the page's phones and e-mails in one read), for the same queries and the list
without `q`; every answer must be the same bytes.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import SqlTimer, django_setup, pct  # noqa: E402 - after the path is set


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="queries per kind and user")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--qualifier", default="bench-q01-1", help="the qualifier's username")
    parser.add_argument(
        "--check", type=int, default=0, help="words queries per user to page through and compare"
    )
    parser.add_argument(
        "--rows",
        action="store_true",
        help="compare DRF's serializer (before) with lead_rows (after), answers byte for byte",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_bench_1m")
    # Every transaction of this process read-only: nothing here may write.
    os.environ["PGOPTIONS"] = "-c default_transaction_read_only=on"
    django_setup()

    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework import mixins
    from rest_framework.test import APIClient

    from bench.search_bench import queries
    from leads import api

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM leads_lead")
        leads = cur.fetchone()[0]
        cur.execute("SHOW default_transaction_read_only")
        read_only = cur.fetchone()[0]
    qualifier = User.objects.get(username=args.qualifier)
    admin = User(id=0, username="bench-admin-in-memory", is_superuser=True, is_active=True)
    print(
        f"{connection.settings_dict['NAME']}: {leads:,} leads; read-only: {read_only}; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rng = random.Random(16)
    rows = {"list": api.LeadViewSet.list, "lead_values": api.lead_values}
    serializer = {  # the page as DRF's LeadSerializer wrote it, before lead_rows
        "list": mixins.ListModelMixin.list,
        "lead_values": lambda leads: leads.select_related("source", "junk_reason").prefetch_related(
            "points"
        ),
    }
    if args.rows:
        ways = {
            "serializer": (api.NewestLeadMatchesFirst, serializer),
            "rows": (api.NewestLeadMatchesFirst, rows),
        }
    else:
        ways = {
            "before": (api.NewestMatchesFirst, rows),
            "windows": (api.NewestLeadMatchesFirst, rows),
        }

    def ask(client, way: str, url: str, params: dict | None) -> tuple:
        pagination, writing = ways[way]
        api.LeadViewSet.pagination_class = pagination
        api.LeadViewSet.list = writing["list"]
        api.lead_values = writing["lead_values"]
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            t0 = time.perf_counter()
            response = client.get(url, params)
            elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params} returned {response.status_code}")
        return response, elapsed * 1000, timer.seconds * 1000, timer.count

    def same(a, b) -> dict:
        """The two ways' answers (responses) the same, or the script stops: the same leads
        and links (`--rows`: the same bytes)."""
        if args.rows and a.content != b.content:
            raise RuntimeError(f"the answers differ:\n{a.content[:2000]}\n{b.content[:2000]}")
        a, b = a.json(), b.json()
        answers = [([row["id"] for row in x["results"]], x["next"], x["previous"]) for x in (a, b)]
        if answers[0] != answers[1]:
            raise RuntimeError(f"the answers differ: {answers}")
        return a

    rows = []
    for label, user, team_ids in (
        ("qualifier, 1 team", qualifier, [qualifier.teams.values_list("id", flat=True)[0]]),
        ("admin, all teams", admin, None),
    ):
        client = APIClient()
        client.force_authenticate(user)
        cases = queries(team_ids, args.requests, rng)
        if args.rows:  # the list itself: what every page of 50 costs without a search
            cases = {"no q": [""] * args.requests, **cases}
        for kind, qs in cases.items():
            if not (kind.startswith("phone") or "surname" in kind or kind == "no q"):
                continue
            words = not kind.startswith("phone")
            steps = ["page 1", "page 2", "back to 1"] if words else ["page 1"]
            times = {(way, step): ([], [], []) for way in ways for step in steps}
            for n, q in enumerate(qs[: args.warmup] + qs):
                order = list(ways) if n % 2 else list(reversed(ways))
                url, params = "/api/v1/leads/", {"q": q} if q else {}
                for step in steps:
                    answers = {}
                    for way in order:
                        answers[way], total, sql, count = ask(client, way, url, params)
                        if n >= args.warmup:
                            record(times[way, step], total, sql, count)
                    answer = same(*answers.values())
                    url, params = answer["next" if step == "page 1" else "previous"], None
                    if not url:
                        break
            for step in steps:
                for way in ways:
                    total, sql, count = times[way, step]
                    if total:
                        rows.append((label, kind, step, way, total, sql, count))
                        print_row(rows[-1])
    if args.check:
        check(args, rng, ask, same, admin, list(ways))
    print(f"\nload average at the end {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


# Filters besides `q` the check adds now and then (the windows then read beside the match).
CHECK_FILTERS = [
    {},
    {},
    {"state": "junk"},
    {"created_before": "2026-06-01T00:00:00Z"},
    {"created_after": "2026-10-15T00:00:00Z"},
]


def check(args, rng, ask, same, admin, ways: list[str]) -> None:
    """`--check N`: N words queries per user — the qualifier, a qualifier of two teams and a
    head of all ten when the harness made them, the admin — at a page size drawn from 1 to 500
    and now and then another filter, four pages forward and two back, each answer the same
    from both paginations."""
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from bench.search_bench import queries

    users = [(admin, None)]
    for username in (args.qualifier, "bench-q-two-teams", "bench-head"):
        user = User.objects.filter(username=username).first()
        if user is not None:
            users.append((user, list(user.teams.values_list("id", flat=True)) or None))
    compared = 0
    for user, team_ids in users:
        client = APIClient()
        client.force_authenticate(user)
        drawn = queries(team_ids, args.check, rng)
        for kind in ("name and surname", "surname", "common surname", "surname, first 5 letters"):
            for q in drawn.get(kind, [])[: args.check]:
                size = rng.choice([1, 3, 7, 20, 50, 120, 500])
                url, params = "/api/v1/leads/", {"q": q, "page_size": size}
                params |= rng.choice(CHECK_FILTERS)
                for link in ["next"] * 4 + ["previous"] * 2:
                    answer = same(*(ask(client, way, url, params)[0] for way in ways))
                    compared += 1
                    url, params = answer[link], None
                    if not url:
                        break
        print(f"check: {user.username}, {compared} answers compared, all the same", flush=True)


def record(lists: tuple, *values: float) -> None:
    for values_of_one, value in zip(lists, values, strict=True):
        values_of_one.append(value)


def print_row(row) -> None:
    label, kind, step, way, total, sql, count = row
    print(
        f"{label:<18} | {kind:<26} | {step:<9} | {way:<10} | n {len(total):>3} | "
        f"p50 {pct(total, 0.5):6.1f} | p95 {pct(total, 0.95):6.1f} ms | "
        f"SQL p95 {pct(sql, 0.95):6.1f} | queries {max(count)} | "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
