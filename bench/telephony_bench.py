#!/usr/bin/env python
"""Call events through the PBX adapters on PostgreSQL (issue 17: 100 events a second, p99 under
100 ms). In process, through the full WSGI stack (django.test.Client: middleware, the view,
the signature check, record_event and its attempt).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_tel_bench \
        .venv/bin/python bench/telephony_bench.py [--calls 300] [--rate 100]

Makes a qualification team with a Zadarma connection, 8 qualifiers with extensions and --calls
leads, then replays one inbound answered call per lead as Zadarma sends it — NOTIFY_START,
NOTIFY_INTERNAL, NOTIFY_ANSWER, NOTIFY_END, each signed — paced at --rate events a second
(one client; an event late on its slot is sent at once). A tenth of the calls come from
unknown numbers and create leads. Prints events/s achieved, p50/p95/p99/max per event and the
load average; checks that every answered call wrote one attempt. Its rows stay in its own
database (drop it when done).
"""

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import sys
import time
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import django_setup, ensure_database, pct, run_lock  # noqa: E402

SECRET = secrets.token_hex(16)
SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
}


def signature(secret: str, fields: dict) -> str:
    signed = "".join(fields.get(name, "") for name in SIGNED[fields["event"]])
    digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    ensure_database(url)
    django_setup()
    if run_lock(url) is None:
        sys.exit("another run holds this database")
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    events, secret, path, leads_before = world(args.calls)
    from django.test import Client

    from leads.models import ContactAttempt, Lead

    client = Client()
    attempts_before = ContactAttempt.objects.count()
    latencies, refused = [], 0
    gap = 1 / args.rate
    started = time.perf_counter()
    for n, fields in enumerate(events):
        slot = started + n * gap
        time.sleep(max(0.0, slot - time.perf_counter()))
        t0 = time.perf_counter()
        answer = client.post(
            path,
            urllib.parse.urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            headers={"Signature": signature(secret, fields)},
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        refused += answer.status_code != 200
    took = time.perf_counter() - started
    written = ContactAttempt.objects.count() - attempts_before
    print(
        f"{len(events)} events in {took:.1f} s = {len(events) / took:.0f} events/s (paced at "
        f"{args.rate:.0f}); non-200: {refused}"
    )
    print(
        f"latency ms: p50 {pct(latencies, 0.5):.1f}  p95 {pct(latencies, 0.95):.1f}  "
        f"p99 {pct(latencies, 0.99):.1f}  max {max(latencies):.1f}"
    )
    print(
        f"attempts written: {written} (calls: {args.calls}); new leads from unknown numbers: "
        f"{Lead.objects.count() - leads_before}"
    )
    print(f"load average: {os.getloadavg()}")


def world(calls: int):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from crm.teams.models import Team
    from leads.models import Lead, LeadSource
    from leads.services import lead_create
    from telephony.models import Extension, PbxConnection

    stamp = int(time.time())
    team = Team.objects.create(name=f"Bench telephony {stamp}", kind=Team.Kind.QUALIFICATION)
    source = LeadSource.objects.create(
        name="Bench", slug=f"bench-tel-{stamp}", channel="web_form", team=team
    )
    connection = PbxConnection.objects.create(
        team=team, provider="zadarma", api_key="k", api_secret=SECRET
    )
    for q in range(8):
        user = User.objects.create_user(f"bench-tel-{stamp}-{q}")
        team.members.add(user)
        Extension.objects.create(connection=connection, user=user, extension=str(100 + q))
    events = []
    call_start = timezone.now().astimezone(ZoneInfo(team.time_zone)).strftime("%Y-%m-%d %H:%M:%S")
    for n in range(calls):
        phone = f"+7916{stamp % 1000:03d}{n:04d}"
        if n % 10:  # a tenth are unknown callers
            lead_create(team=team, source=source, phone=phone, name="Bench caller")
        base = {
            "pbx_call_id": f"in_{stamp}_{n}",
            "caller_id": phone.lstrip("+"),
            "call_start": call_start,
        }
        ext = str(100 + n % 8)
        events += [
            {**base, "event": "NOTIFY_START", "called_did": "74950000000"},
            {**base, "event": "NOTIFY_INTERNAL", "called_did": "74950000000", "internal": ext},
            {**base, "event": "NOTIFY_ANSWER", "destination": ext, "internal": ext},
            {
                **base,
                "event": "NOTIFY_END",
                "called_did": "74950000000",
                "internal": ext,
                "duration": "45",
                "disposition": "answered",
                "status_code": "16",
                "is_recorded": "0",
            },
        ]
    path = f"/api/v1/telephony/zadarma/{connection.url_key}/"
    return events, SECRET, path, Lead.objects.count()


if __name__ == "__main__":
    main()
