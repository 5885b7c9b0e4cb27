"""CSV import of leads: Russian Excel exports (Windows-1251, ";") as well as UTF-8 with ",",
a column mapping, a dry run, row-numbered errors, and either "skip bad rows" or "all or
nothing". Rows are validated like intake posts and written in bulk, a batch at a time."""

import codecs
import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.teams.models import Team
from leads.intake import clean_fields
from leads.models import Lead, LeadEvent, LeadImport, LeadSource

FIELDS = (
    "name",
    "phone",
    "email",
    "company_name",
    "message",
    "external_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
# Column titles we recognise without a mapping, lower-cased (English and Russian exports).
TITLES = {
    "name": {"name", "full name", "fio", "фио", "имя", "клиент", "контакт", "контактное лицо"},
    "phone": {"phone", "telephone", "tel", "mobile", "телефон", "тел", "тел.", "мобильный"},
    "email": {"email", "e-mail", "mail", "почта", "эл. почта", "электронная почта"},
    "company_name": {"company", "company name", "компания", "организация"},
    "message": {"message", "comment", "note", "комментарий", "сообщение", "примечание"},
    "external_id": {"external_id", "external id", "id"},
    "utm_source": {"utm_source"},
    "utm_medium": {"utm_medium"},
    "utm_campaign": {"utm_campaign"},
}
BATCH = 2000


@dataclass
class CsvFile:
    text: str
    encoding: str
    delimiter: str
    header: list[str]


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    already_imported: int = 0
    errors: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len(self.errors)


def open_csv(raw: bytes) -> CsvFile:
    """Decode (UTF-16 with its BOM, else UTF-8, else Windows-1251), find the delimiter, read the
    header row and check the whole file reads as CSV, so a broken file is refused on upload
    with its line number rather than failing half-way through the import."""
    text, encoding = _decode(raw)
    if "\x00" in text:
        # No CSV text holds one (the database would refuse it): a spreadsheet's own format or
        # UTF-16 without its byte-order mark, decoded as if it were text.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationError(
            _(
                "Line %(line)d holds a NUL character: this is not a CSV text file (a .xlsx "
                "workbook, or UTF-16 text?). Save it from the spreadsheet as CSV (UTF-8)."
            )
            % {"line": line}
        )
    if "\n" not in text:  # old Mac exports end lines with CR alone
        text = text.replace("\r", "\n")
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    header = [
        title.strip()
        for title in next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    ]
    if not any(header):
        raise ValidationError(_("The first row must name the columns."))
    repeated = sorted({t for t in header if t and header.count(t) > 1})
    if repeated:
        raise ValidationError(_("Columns named twice: %(names)s.") % {"names": ", ".join(repeated)})
    _check_parses(text, delimiter)
    return CsvFile(text=text, encoding=encoding, delimiter=delimiter, header=header)


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1251")
    for encoding in encodings:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The file is neither UTF-8 nor Windows-1251 text."))


def _check_parses(text: str, delimiter: str) -> None:
    """One quick pass of the CSV reader over the file (a fraction of a second for 100,000
    rows). What it refuses — a field longer than the reader takes, usually a quote opened and
    never closed — would otherwise stop an import in the middle."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    row_starts = 1  # the line the row being read starts on (a quoted field may span lines)
    try:
        for _row in reader:
            row_starts = reader.line_num + 1
    except csv.Error as error:
        raise ValidationError(
            _(
                "Line %(line)d cannot be read as CSV (%(error)s): often a quote is opened and "
                "never closed."
            )
            % {"line": row_starts, "error": error}
        ) from None


def sources_for(teams: Iterable[Team]) -> QuerySet[LeadSource]:
    """The active sources a lead of these teams may be given, typed in or imported: the teams'
    own and the sources of no team (a phone call, a walk-in) — never another team's."""
    return LeadSource.objects.filter(active=True).filter(
        Q(team=None) | Q(team__in=[team.pk for team in teams])
    )


def check_source(source: LeadSource, team: Team) -> None:
    """A source that belongs to a team brings leads to that team only."""
    if source.team_id is not None and source.team_id != team.pk:
        raise ValidationError(
            {
                "source": _("This source belongs to another team: choose one of %(team)s's.")
                % {"team": team.name}
            }
        )


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Our field → the file's column, for the columns whose titles we recognise."""
    mapping = {}
    for column in header:
        for our_field, titles in TITLES.items():
            if column.strip().lower() in titles and our_field not in mapping:
                mapping[our_field] = column
    return mapping


def check_mapping(mapping: dict[str, str], header: list[str]) -> None:
    unknown = [column for column in mapping.values() if column and column not in header]
    if unknown:
        raise ValidationError(_("No such column: %(names)s.") % {"names": ", ".join(unknown)})
    if not mapping.get("phone") and not mapping.get("email"):
        raise ValidationError(_("Map a phone or an e-mail column."))


def rows(csv_file: CsvFile, mapping: dict[str, str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, our fields); the header is row 1."""
    reader = csv.reader(io.StringIO(csv_file.text), delimiter=csv_file.delimiter)
    next(reader, None)
    positions = {f: csv_file.header.index(c) for f, c in mapping.items() if c}
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        yield (
            number,
            {f: values[i].strip() if i < len(values) else "" for f, i in positions.items()},
        )


def import_leads(
    csv_file: CsvFile,
    mapping: dict[str, str],
    *,
    team: Team,
    source: LeadSource,
    by: AbstractBaseUser | None = None,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    progress: Callable[[int], None] = lambda done: None,
    now: datetime | None = None,
) -> ImportResult:
    """Validate every row and store the good ones in bulk, in one transaction. A dry run only
    validates; all-or-nothing validates first and stores nothing if any row is bad. A row
    whose external id this source already has counts as already imported."""
    check_source(source, team)
    check_mapping(mapping, csv_file.header)
    if dry_run or all_or_nothing:
        checked = _import_pass(csv_file, mapping, None, progress)
        if dry_run or checked.errors:
            return checked
    writer = _BatchWriter(team=team, source=source, by=by, now=now or timezone.now())
    with transaction.atomic():
        return _import_pass(csv_file, mapping, writer, progress)


def _import_pass(
    csv_file: CsvFile,
    mapping: dict[str, str],
    writer: "_BatchWriter | None",
    progress: Callable[[int], None] = lambda done: None,
    start: int = 0,
    limit: int | None = None,
) -> ImportResult:
    """Validate rows [start, start + limit) and hand the good ones to the writer, if any."""
    result = ImportResult()
    stop = None if limit is None else start + limit
    for number, values in itertools.islice(rows(csv_file, mapping), start, stop):
        result.total += 1
        fields, errors = clean_fields(values)
        if errors:
            result.errors.append((number, errors))
        elif writer is not None:
            writer.add(fields, result)
        if result.total % 1000 == 0:
            progress(start + result.total)
    if writer is not None:
        writer.flush(result)
    progress(start + result.total)
    return result


def lead_import_step(job_id: int, max_rows: int = 5000) -> LeadImport:
    """Advance an import started from the page by up to `max_rows` rows. The page calls this
    again and again, showing the progress, until the job is done; the job row is locked so
    two tabs never process the same rows."""
    with transaction.atomic():
        job = LeadImport.objects.select_for_update().select_related("team", "source").get(pk=job_id)
        if job.status not in (LeadImport.Status.CHECKING, LeadImport.Status.IMPORTING):
            return job
        writer = None
        if job.status == LeadImport.Status.IMPORTING:
            writer = _BatchWriter(
                team=job.team, source=job.source, by=job.created_by, now=timezone.now()
            )
        csv_file = CsvFile(job.text, job.encoding, job.delimiter, job.header)
        result = _import_pass(csv_file, job.mapping, writer, start=job.rows_done, limit=max_rows)
        job.record(result, finished=result.total < max_rows)
        job.save()
    return job


class _BatchWriter:
    """Collects good rows and inserts them a batch at a time, linking duplicates of open leads
    with one query per batch instead of one per row."""

    def __init__(
        self, *, team: Team, source: LeadSource, by: AbstractBaseUser | None, now: datetime
    ) -> None:
        self.team, self.source, self.by, self.now = team, source, by, now
        # A purchased list is not waiting for a callback: its leads join the queue due now,
        # without callback alerts (thousands of rows would each warn the whole team).
        self.warn_at = self.breach_at = now
        self.pending: list[dict[str, str]] = []
        self.keys: set[str] = set()

    def add(self, fields: dict[str, str], result: ImportResult) -> None:
        keys = {
            k
            for k in (fields["phone"], fields["email"], "id:" + fields["external_id"])
            if k and k != "id:"
        }
        # A repeat within the batch must see the earlier row stored, to link to it or skip it.
        if keys & self.keys or len(self.pending) >= BATCH:
            self.flush(result)
        self.pending.append(fields)
        self.keys |= keys

    def flush(self, result: ImportResult) -> None:
        if not self.pending:
            return
        batch, self.pending, self.keys = self.pending, [], set()
        known_ids = set(
            Lead.objects.filter(
                source=self.source,
                external_id__in=[f["external_id"] for f in batch if f["external_id"]],
            ).values_list("external_id", flat=True)
        )
        fresh = [f for f in batch if not f["external_id"] or f["external_id"] not in known_ids]
        result.already_imported += len(batch) - len(fresh)
        originals = self._open_leads_matching(fresh)
        leads = Lead.objects.bulk_create(
            [self._lead(f, originals.get(f["phone"]) or originals.get(f["email"])) for f in fresh]
        )
        LeadEvent.objects.bulk_create(
            LeadEvent(lead=lead, actor=self.by, at=self.now, kind=LeadEvent.Kind.CREATED)
            for lead in leads
        )
        result.created += len(leads)

    def _open_leads_matching(self, batch: list[dict[str, str]]) -> dict[str, int]:
        phones = [f["phone"] for f in batch if f["phone"]]
        emails = [f["email"] for f in batch if f["email"]]
        matches = (
            Lead.objects.filter(team=self.team, state__in=Lead.OPEN_STATES)
            .filter(Q(phone__in=phones) | Q(email__in=emails))
            .order_by("-created_at", "-id")
            .values_list("id", "phone", "email")
        )
        originals: dict[str, int] = {}
        for lead_id, phone, email in matches:  # newest first, so the oldest wins
            originals.update({str(k): lead_id for k in (phone, email) if k})
        return originals

    def _lead(self, fields: dict[str, str], duplicate_of: int | None) -> Lead:
        return Lead(
            team=self.team,
            source=self.source,
            created_at=self.now,
            warn_at=self.warn_at,
            breach_at=self.breach_at,
            due_at=self.breach_at,
            duplicate_of_id=duplicate_of,
            name=" ".join(fields["name"].split()),
            **{k: v for k, v in fields.items() if k != "name"},
        )
