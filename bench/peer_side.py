"""The peer CRM's side of bench/peer_bench.py, run by the peer's own Python (its venv) with
the peer's checkout on sys.path and bench/peer_settings.py as its settings. Not imported by
this project: it imports the peer's code (DjangoCRM/django-crm, branch v1.7.x-LTS).

    python peer_side.py setup --leads 100000 --share 10000

1. Migrates the peer's database and loads the fixtures its `setupdata` command loads
   (countries, currencies, groups, departments, lead sources, ...) when they are missing.
2. Makes 10 sales managers (groups: managers, co-workers and one of the two sales
   departments, staff as the peer needs for its admin-based UI), each owning an equal share.
3. Seeds the leads with bulk_create, 5,000 a batch, if the table does not hold exactly
   --leads already: first/last name, e-mail, phone, company, owner, the owner's department,
   a lead source of that department, a country, creation dates over the last 12 months.
4. Logs the measured manager in (a session in the peer's database) and prints one JSON line:
   the session cookie, the lead list's address and what the table holds.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta

FIXTURES = [  # common/management/commands/setupdata.py, without its createsuperuser
    "country.json",
    "currency.json",
    "groups.json",
    "resolution.json",
    "department.json",
    "deal_stage.json",
    "projectstage.json",
    "taskstage.json",
    "client_type.json",
    "closing_reason.json",
    "industry.json",
    "lead_source.json",
    "publicemaildomain.json",
    "help_en.json",
    "sites.json",
    "reminders.json",
    "massmailsettings.json",
]
MANAGERS = 10
PREFIX = "peer-manager-"


def setup(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from common.models import Department, UserProfile
    from crm.models import Country, Lead, LeadSource
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", interactive=False, verbosity=0)
    if not Country.objects.exists():
        call_command("loaddata", *FIXTURES, verbosity=0)
    departments = list(Department.objects.filter(name__in=["Global sales", "Local sales"]))
    managers_group = Group.objects.get(name="managers")
    coworkers = Group.objects.get(name="co-workers")
    users = []
    for i in range(1, MANAGERS + 1):
        user, created = User.objects.get_or_create(
            username=f"{PREFIX}{i:02d}",
            defaults={"first_name": f"Manager{i}", "last_name": "Peer", "is_staff": True},
        )
        if created:
            user.set_unusable_password()
            user.save()
        department = departments[(i - 1) % len(departments)]
        user.groups.add(managers_group, coworkers, department.group_ptr)
        UserProfile.objects.get_or_create(user=user)
        users.append((user, department))
    measured = users[0][0]

    have = Lead.objects.count()
    if have != args.leads:
        print(f"peer: seeding {args.leads:,} leads (the table held {have:,})", file=sys.stderr)
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("TRUNCATE crm_lead CASCADE")
        sources: dict[int, list] = {}
        for source in LeadSource.objects.all():
            sources.setdefault(source.department_id, []).append(source)
        countries = list(Country.objects.all())
        rnd = random.Random(11)
        now = timezone.now()
        first = ["Anna", "Ivan", "Olga", "Sergey", "Maria", "Pavel", "Elena", "Dmitry", "Irina"]
        last = ["Ivanova", "Petrov", "Smirnova", "Volkov", "Kuznetsova", "Orlov", "Sokolova"]
        # The measured manager owns --share leads; the others share the rest equally.
        per_other = (args.leads - args.share) // (MANAGERS - 1)
        owners = [users[0]] * args.share
        for user in users[1:]:
            owners += [user] * per_other
        owners += [users[-1]] * (args.leads - len(owners))
        rnd.shuffle(owners)
        batch = []
        with transaction.atomic():
            for n, (owner, department) in enumerate(owners, 1):
                dep_sources = sources.get(department.pk) or [None]
                batch.append(
                    Lead(
                        first_name=rnd.choice(first),
                        last_name=rnd.choice(last),
                        email=f"lead{n}@example.com",
                        phone=f"+7916{n:07d}",
                        company_name=f"Company {n % 5000}" if n % 3 else "",
                        owner=owner,
                        department=department.group_ptr,
                        lead_source=rnd.choice(dep_sources),
                        country=rnd.choice(countries),
                        city_name="Moscow" if n % 2 else "",
                        creation_date=now - timedelta(seconds=rnd.randrange(365 * 86400)),
                    )
                )
                if len(batch) == 5000:
                    Lead.objects.bulk_create(batch)
                    batch = []
            if batch:
                Lead.objects.bulk_create(batch)
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) crm_lead")
        print(f"peer: seeded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    client = Client()
    client.force_login(measured)
    cookie = settings.SESSION_COOKIE_NAME
    print(
        json.dumps(
            {
                "cookie": f"{cookie}={client.cookies[cookie].value}",
                "url": f"/en/{settings.SECRET_CRM_PREFIX}crm/lead/",
                "leads": Lead.objects.count(),
                "owned": Lead.objects.filter(owner=measured).count(),
                "user": measured.username,
                "django": django.get_version(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["setup"])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--share", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")
    setup(args)


if __name__ == "__main__":
    main()
