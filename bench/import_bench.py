#!/usr/bin/env python
"""CSV import of 100,000 rows through `manage.py import_leads` (validation, normalisation,
duplicate linking, bulk inserts of leads, events and deadlines): the wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_import \\
        .venv/bin/python bench/import_bench.py [--rows 100000]

Creates the database if missing, migrates, writes a Windows-1251 file with ';' (as Excel's
Russian export does, with a few bad rows), times the command, and prints rows per second.
`--format bitrix24` writes a Bitrix24 lead export instead (tests/leads/exports.py: 30 columns,
phones in two columns and two to a cell, surnames, statuses, dates, responsibles);
`--user-fields` adds two of the account's own fields ("Тип кухни", "Бюджет клиента") and two
criteria named like them, so every row pre-fills its script (leads/prefill.py)."""

import argparse
import os
import resource
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
    parser.add_argument("--user-fields", action="store_true", help="bitrix24: pre-fill answers")
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
        cursor.execute("TRUNCATE leads_lead, leads_leadevent, deadlines_deadline CASCADE")
    if args.user_fields:
        _criteria_named_like_the_user_fields()
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

        extra = {"user_fields": True} if args.user_fields else {}
        path.write_bytes(bitrix24_csv(args.rows, encoding="cp1251", **extra))
    else:
        path.write_bytes("\r\n".join(lines).encode("cp1251"))
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The import process's own CPU time (PostgreSQL's is apart): on a machine other jobs load,
    # it moves far less than the wall time does.
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    summary = [line for line in result.stdout.splitlines() if line.endswith(" bad")]
    rate = args.rows / elapsed
    shape = args.format + (" with user fields" if args.user_fields else "")
    print(f"{args.rows:,} rows ({shape}, cp1251, ';'): {elapsed:.1f} s, {rate:,.0f} rows/s")
    print(f"import process CPU {cpu:.1f} s; load average {os.getloadavg()[0]:.1f}")
    print(summary[-1] if summary else result.stdout[-500:])


def _criteria_named_like_the_user_fields() -> None:
    from leads.models import Criterion, CriterionOption

    kitchen, _ = Criterion.objects.update_or_create(
        slug="bench-kitchen-type",
        defaults={"question": "Kitchen type", "kind": "choice", "form_names": "Тип кухни"},
    )
    for value, label in (("custom", "Под заказ"), ("modular", "Модульная")):
        CriterionOption.objects.get_or_create(
            criterion=kitchen, value=value, defaults={"label": label}
        )
    Criterion.objects.update_or_create(
        slug="bench-budget",
        defaults={
            "question": "Budget",
            "kind": "number",
            "min_value": 250_000,
            "form_names": "Бюджет клиента",
        },
    )


if __name__ == "__main__":
    main()
