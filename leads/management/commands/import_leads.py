from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from tqdm import tqdm

from crm.teams.models import Team
from leads.import_presets import MULTI_FIELDS, detect_preset
from leads.imports import FIELDS, columns_of, guess_mapping, import_leads, open_file
from leads.models import LeadSource

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file (UTF-8 or Windows-1251, ';' or ','), an .xlsx workbook or "
        "Bitrix24's HTML .xls. Columns are matched by their titles (Bitrix24 and amoCRM exports "
        "as they are); --map name=ФИО overrides (phone, email, message, form_answers may be given "
        "several times). Exits with status 1 when rows were bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--team", required=True, help="qualification team: name or id")
        parser.add_argument("--source", required=True, help="lead source slug")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=f"map a column to a field; fields: {', '.join(FIELDS)}",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate, store nothing")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="store nothing if any row is bad (default: skip bad rows)",
        )

    def handle(self, *args, file: Path, team: str, source: str, map: list[str], **options) -> None:
        team_obj = Team.objects.filter(
            Q(name=team) | Q(pk=int(team) if team.isdigit() else None), kind=Team.Kind.QUALIFICATION
        ).first()
        source_obj = LeadSource.objects.filter(slug=source).first()
        if team_obj is None or source_obj is None:
            raise CommandError("No such qualification team or lead source.")
        if source_obj.team_id not in (None, team_obj.pk):
            raise CommandError(
                f"The source {source_obj.slug} belongs to the team {source_obj.team}, "
                f"not to {team_obj}: choose that team or another source."
            )
        try:
            csv_file = open_file(file.read_bytes())
            mapping = {**guess_mapping(csv_file.header), **self._parse_map(map)}
            rows_in_file = csv_file.text.rstrip("\n").count("\n")
            with tqdm(total=rows_in_file, unit=" rows", file=self.stderr._out) as bar:
                result = import_leads(
                    csv_file,
                    mapping,
                    team=team_obj,
                    source=source_obj,
                    dry_run=options["dry_run"],
                    all_or_nothing=options["all_or_nothing"],
                    progress=lambda done: bar.update(done - bar.n),
                )
        except (OSError, ValidationError) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from None
        self._report(csv_file, mapping, result, options)

    def _parse_map(self, pairs: list[str]) -> dict[str, str | list[str]]:
        mapping: dict[str, str | list[str]] = {}
        for pair in pairs:
            our_field, sep, column = pair.partition("=")
            if not sep or our_field not in FIELDS:
                raise CommandError(
                    f"--map takes FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}"
                )
            if our_field in MULTI_FIELDS:
                mapping[our_field] = [*columns_of(mapping.get(our_field)), column]
            else:
                mapping[our_field] = column
        return mapping

    def _report(self, csv_file, mapping, result, options) -> None:
        preset = detect_preset(csv_file.header)
        self.stdout.write(
            f"{csv_file.encoding}, delimiter {csv_file.delimiter!r}"
            + (f", a {preset.label} export" if preset else "")
            + "; columns: "
            + ", ".join(f"{f}={'+'.join(columns_of(c))}" for f, c in mapping.items())
        )
        for number, errors in result.errors[:SHOWN_ERRORS]:
            text = "; ".join(f"{f}: {' '.join(m)}" for f, m in errors.items())
            self.stdout.write(f"row {number}: {text}")
        for number, note in result.notes[:SHOWN_ERRORS]:
            self.stdout.write(f"row {number}: {note}")
        if len(result.notes) > SHOWN_ERRORS:
            self.stdout.write(f"… and {len(result.notes) - SHOWN_ERRORS} more rows of history")
        if result.bad_rows > SHOWN_ERRORS:
            self.stdout.write(f"… and {result.bad_rows - SHOWN_ERRORS} more bad rows")
        verb = "would be checked" if options["dry_run"] else "created"
        self.stdout.write(
            f"{result.total} rows: {result.created} {verb}, "
            f"{result.already_imported} already imported, {result.bad_rows} bad, "
            f"{len(result.notes)} as converted history"
        )
        if result.errors:
            raise SystemExit(1)
