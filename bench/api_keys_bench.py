#!/usr/bin/env python
"""The API's searches that read a page's keys first (issue 16.1): a phone's last four digits
on `GET /api/v1/leads/?q=` and the deals' `?q=` (a common surname, the last four digits), and
the lead list without `q` beside them, timed whole (in process, django.test's APIClient) on a
database another script built, **read-only** (the connection's transactions are read-only; the
qualifier is the harness's first, `bench-q01-1`, the admin a superuser in memory).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_api_1m \\
        nice -n 10 .venv/bin/python bench/api_keys_bench.py [--requests 12] [--label main]

It times the code of the worktree it is run from, so main and a branch are compared by running
it from each in turn (`--label` names the run in its lines). The last digits are drawn from the
qualifier's team's phones (the same ones in every run); the deals' surname is the contacts'
most common one. Prints p50 / p95 per case with the load average.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import django_setup, pct  # noqa: E402 - after the path is set

WARMUP = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=12, help="timed requests per case")
    parser.add_argument("--label", default="", help="what the run is (main, a branch)")
    parser.add_argument("--qualifier", default="bench-q01-1", help="the qualifier's username")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/crm_bench_1m")
    os.environ["PGOPTIONS"] = "-c default_transaction_read_only=on"  # nothing here may write
    django_setup()

    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework.test import APIClient

    qualifier = User.objects.get(username=args.qualifier)
    admin = User(id=0, username="bench-admin-in-memory", is_superuser=True, is_active=True)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT right(phone, 4) FROM leads_lead WHERE phone <> '' AND team_id = "
            "(SELECT team_id FROM teams_team_members WHERE user_id = %s LIMIT 1) "
            "ORDER BY id LIMIT 5000",
            [qualifier.pk],
        )
        digits = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT split_part(name, ' ', 2) FROM deals_contact GROUP BY 1 "
            "ORDER BY count(*) DESC LIMIT 1"
        )
        surname = cur.fetchone()[0]
    n = args.requests + WARMUP
    last4 = random.Random(7).sample(digits, n)
    cases = [
        ("qualifier", qualifier, "/api/v1/leads/", [""] * n, "no q"),
        ("admin", admin, "/api/v1/leads/", [""] * n, "no q"),
        ("qualifier", qualifier, "/api/v1/leads/", last4, "last 4 digits"),
        ("admin", admin, "/api/v1/leads/", last4, "last 4 digits"),
        ("admin", admin, "/api/v1/deals/", [surname] * n, "deals: common surname"),
        ("admin", admin, "/api/v1/deals/", last4, "deals: last 4 digits"),
    ]
    for who, user, path, queries, kind in cases:
        client = APIClient()
        client.force_authenticate(user)
        times = []
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            response = client.get(path, {"q": q} if q else {})
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path} {q!r} returned {response.status_code}")
            if i >= WARMUP:
                times.append(elapsed)
        print(
            f"{args.label:<8} {who:<9} | {kind:<22} | n {len(times)} | "
            f"p50 {pct(times, 0.5):7.1f} | p95 {pct(times, 0.95):7.1f} ms | "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
