"""Build the reports' roll-ups (the teams' days, their calls', the people's and the insights'):
on the first deploy, and after a migration that changes what a day counts. Without --all it
does what the beat job does (the days missing and the days marked); reports stay right
meanwhile (a day without a row is read from the raw rows)."""

import time

from django.core.management.base import BaseCommand

from crm.teams.models import Team
from reports import call_rollups, insight_rollups, person_rollups, rollups


class Command(BaseCommand):
    help = (
        "Build the reports' daily roll-ups (reports/rollups.py, reports/person_rollups.py, "
        "reports/insight_rollups.py, reports/call_rollups.py)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="rebuild every closed day, not only the missing"
        )
        parser.add_argument(
            "--team",
            type=int,
            action="append",
            help="only this team's days and its calls' (no person's, no insights')",
        )

    def handle(self, *args, **options) -> None:
        teams = Team.objects.all()
        if options["team"]:
            teams = teams.filter(pk__in=options["team"])
        started = time.perf_counter()
        done = rollups.refresh(list(teams), everything=options["all"])
        self.stdout.write(
            f"{done['days']} team-days built in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        calls = call_rollups.refresh(list(teams), everything=options["all"])
        self.stdout.write(
            f"{calls['call_days']} team-days of calls built in "
            f"{time.perf_counter() - started:.1f} s"
        )
        if options["team"]:
            return
        started = time.perf_counter()
        people = person_rollups.refresh(everything=options["all"])
        self.stdout.write(
            f"{people['person_days']} person-days built in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        insights = insight_rollups.refresh(everything=options["all"])
        self.stdout.write(
            f"{insights['insight_days']} insight team-days built in "
            f"{time.perf_counter() - started:.1f} s"
        )
