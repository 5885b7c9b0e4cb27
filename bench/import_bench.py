#!/usr/bin/env python
"""CSV import of 100,000 rows through `manage.py import_leads` (validation, normalisation,
duplicate linking, bulk inserts of leads, events and deadlines): the wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_import \\
        .venv/bin/python bench/import_bench.py [--rows 100000]

Creates the database if missing, migrates, writes a Windows-1251 file with ';' (as Excel's
Russian export does, with a few bad rows), times the command, and prints rows per second.
`--format bitrix24` writes a Bitrix24 lead export instead (tests/leads/exports.py: 30 columns,
phones in two columns and two to a cell, surnames, statuses, dates, responsibles)."""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.harness import ensure_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["plain", "bitrix24"], default="plain")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    from django.db import connection

    from crm.teams.models import Team
    from leads.models import LeadSource

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_lead, leads_leadevent, leads_deadline CASCADE")
    team, _ = Team.objects.get_or_create(name="Import team", defaults={"kind": "qualification"})
    LeadSource.objects.get_or_create(
        slug="import-list", defaults={"name": "List", "channel": "purchased_list"}
    )
    path = Path(tempfile.mkdtemp()) / "leads.csv"
    lines = ["ФИО;Телефон;E-mail;Компания;Комментарий"]
    for i in range(args.rows):
        phone = (
            "12345"
            if i % 1000 == 999
            else f"8 (916) {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d}"
        )
        lines.append(f"Клиент Номер{i};{phone};client{i}@example.ru;ООО Ромашка {i % 50};Кухня")
    if args.format == "bitrix24":
        from tests.leads.exports import bitrix24_csv

        path.write_bytes(bitrix24_csv(args.rows, encoding="cp1251"))
    else:
        path.write_bytes("\r\n".join(lines).encode("cp1251"))
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_leads",
            str(path),
            "--team",
            team.name,
            "--source",
            "import-list",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    summary = [line for line in result.stdout.splitlines() if line.endswith(" bad")]
    rate = args.rows / elapsed
    print(f"{args.rows:,} rows ({args.format}, cp1251, ';'): {elapsed:.1f} s, {rate:,.0f} rows/s")
    print(summary[-1] if summary else result.stdout[-500:])


if __name__ == "__main__":
    main()
