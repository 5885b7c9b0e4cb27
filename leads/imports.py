"""Import of leads: CSV (Russian Excel exports in Windows-1251 with ";", UTF-8 with ","),
.xlsx workbooks and the HTML tables Bitrix24 saves as .xls; the exports of Bitrix24 and amoCRM
mapped by their column titles; a column mapping, a dry run, row-numbered errors, and either
"skip bad rows" or "all or nothing". Rows are validated like intake posts and written in bulk,
a batch at a time. Nothing a row holds is dropped: what has no field of its own (a third
phone, an extension, an unknown responsible) is appended to the lead's message."""

import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.lib.spreadsheets import html_table_rows, looks_like_html, rows_to_csv, xlsx_rows
from crm.teams.models import Team
from leads import channels, scoring
from leads import signals as lead_signals
from leads.import_presets import MULTI_FIELDS, PRESETS, detect_preset, preset_mapping
from leads.intake import Several, clean_fields
from leads.models import (
    Answer,
    JunkReason,
    Lead,
    LeadContactPoint,
    LeadEvent,
    LeadImport,
    LeadSource,
)
from leads.prefill import CriteriaIndex, Prefill

FIELDS = (
    "name",
    "last_name",
    "middle_name",
    "phone",
    "email",
    "company_name",
    "message",
    "external_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "status",
    "created",
    "responsible",
    "form_answers",
)
# Column titles we recognise without a mapping, lower-cased (English and Russian exports).
TITLES = {
    "name": {"name", "full name", "fio", "фио", "имя", "клиент", "контакт", "контактное лицо"},
    "last_name": {"фамилия", "last name", "surname"},
    "middle_name": {"отчество", "middle name"},
    "phone": {
        "phone",
        "telephone",
        "tel",
        "mobile",
        "телефон",
        "тел",
        "тел.",
        "мобильный",
        "мобильный телефон",
        "рабочий телефон",
        "mobile phone",
        "work phone",
    },
    "email": {
        "email",
        "e-mail",
        "mail",
        "почта",
        "эл. почта",
        "электронная почта",
        "рабочий e-mail",
        "рабочий email",
        "work e-mail",
    },
    "company_name": {"company", "company name", "компания", "организация"},
    "message": {"message", "comment", "note", "комментарий", "сообщение", "примечание"},
    "external_id": {"external_id", "external id", "id"},
    "utm_source": {"utm_source", "utm source"},
    "utm_medium": {"utm_medium", "utm medium"},
    "utm_campaign": {"utm_campaign", "utm campaign"},
    "utm_content": {"utm_content", "utm content"},
    "utm_term": {"utm_term", "utm term"},
    "status": {"статус", "status"},
    "created": {"дата создания", "created"},
    "responsible": {"ответственный", "responsible"},
}
BATCH = 2000
# The fields of a row stored as the Lead's own, as they are (name and the extras apart).
LEAD_FIELDS = (
    "phone",
    "phone_ext",
    "email",
    "company_name",
    "message",
    "external_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
)


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
    # Rows imported (or, in a dry run, to be imported) as converted history: (row, note).
    notes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len(self.errors)


def open_file(raw: bytes) -> CsvFile:
    """An uploaded export as CSV text, whatever it is: an .xlsx workbook (amoCRM's export),
    an HTML table saved as .xls (Bitrix24's "Excel" export) or CSV text."""
    if raw.startswith(b"PK\x03\x04"):  # a zip archive: .xlsx
        try:
            table = xlsx_rows(raw)
        except ValueError:
            raise ValidationError(
                _("This workbook cannot be read: save it again as .xlsx, or as CSV (UTF-8).")
            ) from None
        return _from_table(table, "xlsx")
    text, encoding = _decode(raw)
    if looks_like_html(text):
        return _from_table(html_table_rows(text), f"html {encoding}")
    return _open_text(text, encoding)


def _from_table(table: list[list[str]], encoding: str) -> CsvFile:
    # Blank rows are dropped at the ends only, so row numbers stay those the spreadsheet shows.
    filled = [i for i, row in enumerate(table) if any(cell.strip() for cell in row)]
    table = table[filled[0] : filled[-1] + 1] if filled else []
    if not table:
        raise ValidationError(_("The first row must name the columns."))
    width = max(i + 1 for row in table for i, cell in enumerate(row) if cell.strip())
    return _open_text(rows_to_csv([row[:width] for row in table]), encoding)


def open_csv(raw: bytes) -> CsvFile:
    """Decode (UTF-16 with its BOM, else UTF-8, else Windows-1251), find the delimiter, read the
    header row and check the whole file reads as CSV, so a broken file is refused on upload
    with its line number rather than failing half-way through the import."""
    return _open_text(*_decode(raw))


def _open_text(text: str, encoding: str) -> CsvFile:
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


Mapping = dict[str, str | list[str]]


def columns_of(value: str | list[str] | None) -> list[str]:
    """A mapping's value as a list of columns: phones, e-mails and notes may take several."""
    if not value:
        return []
    return [value] if isinstance(value, str) else [c for c in value if c]


def guess_mapping(header: list[str]) -> Mapping:
    """Our field → the file's column(s): by the preset of the CRM whose export this is (told
    by its header row), else by the titles we recognise; and the columns named like a
    qualification criterion as form answers, which pre-fill the script (leads/prefill.py)."""
    mapping = _guess_fields(header)
    taken = {c for value in mapping.values() for c in columns_of(value)}
    index = CriteriaIndex.active()
    answers = [c for c in header if c not in taken and index.criterion_for(c) is not None]
    if answers:
        mapping["form_answers"] = answers
    return mapping


def _guess_fields(header: list[str]) -> Mapping:
    preset = detect_preset(header)
    if preset is not None:
        return preset_mapping(preset, header)
    mapping: Mapping = {}
    for column in header:
        for our_field, titles in TITLES.items():
            if column.strip().lower() not in titles:
                continue
            if our_field in MULTI_FIELDS:
                mapping[our_field] = [*columns_of(mapping.get(our_field)), column]
            elif our_field not in mapping:
                mapping[our_field] = column
    return mapping


def check_mapping(mapping: Mapping, header: list[str]) -> None:
    unknown = [c for value in mapping.values() for c in columns_of(value) if c not in header]
    if unknown:
        raise ValidationError(_("No such column: %(names)s.") % {"names": ", ".join(unknown)})
    if not mapping.get("phone") and not mapping.get("email"):
        raise ValidationError(_("Map a phone or an e-mail column."))


# A row's cells by our field: a list of cells each, but "form_answers" ({column title: cell}).
Cells = dict[str, Any]


def rows(csv_file: CsvFile, mapping: Mapping) -> Iterator[tuple[int, Cells]]:
    """(row number as a spreadsheet shows it, our field → its cells); the header is row 1. A
    note field's cells past the first come titled, "Теги: VIP"."""
    reader = csv.reader(io.StringIO(csv_file.text), delimiter=csv_file.delimiter)
    next(reader, None)
    header = csv_file.header
    positions = {f: [header.index(c) for c in columns_of(v)] for f, v in mapping.items()}
    positions = {f: p for f, p in positions.items() if p}
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        cells: Cells = {
            f: [values[i].strip() if i < len(values) else "" for i in places]
            for f, places in positions.items()
        }
        if "form_answers" in positions:  # {column title: its cell}, the filled ones
            answers = zip(positions["form_answers"], cells["form_answers"], strict=True)
            cells["form_answers"] = {header[i]: v for i, v in answers if v}
        for kind in ("phone", "email"):  # the column names the kind: "Рабочий телефон"
            if kind in positions:
                cells[f"{kind}:columns"] = [header[i] for i in positions[kind]]
        if len(cells.get("message", ())) > 1:
            first, *rest = cells["message"]
            places = positions["message"][1:]
            titled = [f"{header[i]}: {v}" for i, v in zip(places, rest, strict=True) if v]
            cells["message"] = ["\n".join(v for v in (first, *titled) if v)]
        yield number, cells


# A cell of several phones or e-mails: Bitrix24 joins them with ", ", others with ";" or
# line breaks.
CELL_SPLIT = re.compile(r"[,;\n]+")
DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
JUNK_STATUSES = frozenset().union(*(p.junk_statuses for p in PRESETS), {"junk"})
CONVERTED_STATUSES = frozenset().union(*(p.converted_statuses for p in PRESETS), {"converted"})
IMPORTED_JUNK_SLUG = "imported"


class RowContext:
    """What turning a row into a lead needs beyond the row: the team's people (for the
    responsible column), its time zone (for dates), the junk reasons."""

    def __init__(self, team: Team) -> None:
        self.time_zone = ZoneInfo(team.time_zone)
        self.people: dict[str, int] = {}
        users = get_user_model().objects.filter(Q(teams=team) | Q(managed_teams=team))
        for user in users.distinct():
            first, last = user.first_name.strip(), user.last_name.strip()
            for key in (f"{first} {last}", f"{last} {first}", user.email, user.username):
                if key.strip():
                    self.people.setdefault(" ".join(key.lower().split()), user.pk)
        self.reasons = {r.name.strip().lower(): r.pk for r in JunkReason.objects.all()}
        self.criteria = CriteriaIndex.active()
        self.crm = ""  # the CRM whose export the file is, when its header tells (import_leads)


def history_note(status: str, crm: str) -> str:
    """What the dry run and the lead's history say of a row converted in the other CRM."""
    if crm:
        return _("Imported as converted history: %(status)s in %(crm)s, its deal is there.") % {
            "status": status,
            "crm": crm,
        }
    return _("Imported as converted history: %(status)s in the other CRM, its deal is there.") % {
        "status": status
    }


def prepare_row(
    cells: Cells, context: RowContext
) -> tuple[dict[str, str], dict, dict[str, list[str]]]:
    """(fields for clean_fields, the lead's other attributes, errors) of one row. Every valid
    phone and e-mail of the row becomes one of the lead's points, in column order, with the
    kind its column names ("Рабочий телефон": work) and its extension; what has no field
    (a phone or e-mail that does not parse beside a valid one, an unknown status or
    responsible) goes to a note appended to the message, so nothing the file holds is lost."""
    answers: dict[str, str] = cells.pop("form_answers", None) or {}
    one = {f: next((v for v in values if v), "") for f, values in cells.items()}
    notes: list[str] = []
    extra: dict = {"form_answers": answers, "prefill": context.criteria.match(answers)}
    errors: dict[str, list[str]] = {}
    values = {f: one.get(f, "") for f in FIELDS}
    values["name"] = " ".join(
        part for part in (one.get("last_name"), one.get("name"), one.get("middle_name")) if part
    )
    phones, bad_phones = _pieces(cells, "phone")
    values["phone"] = ""
    if phones:
        values["phones"] = Several(phones)
        if bad_phones:
            notes.append(_("Other phones: %(phones)s") % {"phones": ", ".join(bad_phones)})
    elif bad_phones:  # the row is refused with the first one's error
        values["phone"] = bad_phones[0]
    emails, bad_emails = _pieces(cells, "email")
    values["email"] = ""
    if emails:
        values["emails"] = Several(emails)
        if bad_emails:
            notes.append(_("Other e-mails: %(emails)s") % {"emails": ", ".join(bad_emails)})
    elif bad_emails:
        values["email"] = bad_emails[0]
    status = " ".join(one.get("status", "").split())
    if status:
        extra["imported_status"] = status[:200]
    if status.lower() in CONVERTED_STATUSES:
        # Converted there, its deal is there: imported as history, `converted` with no deal.
        extra["state"] = Lead.State.CONVERTED
        extra["imported_history"] = True
        extra["history_note"] = history_note(status, context.crm)
    elif status.lower() in JUNK_STATUSES:
        extra["state"] = Lead.State.JUNK
        extra["junk_reason_id"] = context.reasons.get(status.lower())
    elif status:
        notes.append(_("Status in the other CRM: %(status)s") % {"status": status})
    created = one.get("created", "")
    if created:
        arrived = _parse_date(created, context.time_zone)
        if arrived is None:
            notes.append(_("Created: %(date)s") % {"date": created})
        else:
            extra["created_at"] = arrived
    responsible = " ".join(one.get("responsible", "").split())
    if responsible:
        extra["assignee_id"] = context.people.get(responsible.lower())
        if extra["assignee_id"] is None:
            notes.append(_("Responsible: %(name)s") % {"name": responsible})
    if notes:
        values["message"] = "\n".join(v for v in (values["message"], *notes) if v)
    return values, extra, errors


def _pieces(cells: dict[str, list[str]], kind: str) -> tuple[list[tuple[str, str, str]], list]:
    """([(typed, kind, "")] of the valid phones or e-mails of a row, [the others as written]).
    Each cell may hold several, and its column's title names their kind."""
    columns = cells.get(f"{kind}:columns", [])
    split = CELL_SPLIT if kind == "phone" else channels.EMAIL_SPLIT
    valid, bad = [], []
    for title, cell in zip(columns, cells.get(kind, []), strict=False):
        label = channels.label_of(title)
        for typed in (p.strip() for p in split.split(cell) if p.strip()):
            try:
                if kind == "phone":
                    channels.phone_point(typed, label)
                else:
                    channels.email_point(typed, label)
            except (ValueError, ValidationError):
                bad.append(typed)
                continue
            valid.append((typed, label, ""))
    return valid, bad


def _parse_date(text: str, time_zone: ZoneInfo) -> datetime | None:
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), date_format).replace(tzinfo=time_zone)
        except ValueError:
            continue
    return None


def import_leads(
    csv_file: CsvFile,
    mapping: Mapping,
    *,
    team: Team,
    source: LeadSource,
    by: User | None = None,
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
    context = _context(team, csv_file.header)
    if dry_run or all_or_nothing:
        checked = _import_pass(csv_file, mapping, context, None, progress)
        if dry_run or checked.errors:
            return checked
    writer = _BatchWriter(team=team, source=source, by=by, now=now or timezone.now())
    with transaction.atomic():
        return _import_pass(csv_file, mapping, context, writer, progress)


def _context(team: Team, header: list[str]) -> RowContext:
    context = RowContext(team)
    preset = detect_preset(header)
    context.crm = preset.label if preset else ""
    return context


def _import_pass(
    csv_file: CsvFile,
    mapping: Mapping,
    context: RowContext,
    writer: "_BatchWriter | None",
    progress: Callable[[int], None] = lambda done: None,
    start: int = 0,
    limit: int | None = None,
) -> ImportResult:
    """Validate rows [start, start + limit) and hand the good ones to the writer, if any."""
    result = ImportResult()
    stop = None if limit is None else start + limit
    for number, cells in itertools.islice(rows(csv_file, mapping), start, stop):
        result.total += 1
        values, extra, errors = prepare_row(cells, context)
        fields, field_errors = clean_fields(values)
        errors = {**field_errors, **errors}
        if errors:
            result.errors.append((number, errors))
            continue
        if writer is not None:
            # The writer lists the history rows it stores (not those already imported).
            writer.add({**fields, **extra, "row_number": number}, result)
        elif extra.get("imported_history"):
            result.notes.append((number, extra["history_note"]))
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
        result = _import_pass(
            csv_file,
            job.mapping,
            _context(job.team, job.header),
            writer,
            start=job.rows_done,
            limit=max_rows,
        )
        job.record(result, finished=result.total < max_rows)
        job.save()
    return job


class _BatchWriter:
    """Collects good rows and inserts them a batch at a time, linking duplicates of open leads
    with one query per batch instead of one per row."""

    def __init__(self, *, team: Team, source: LeadSource, by: User | None, now: datetime) -> None:
        self.team, self.source, self.by, self.now = team, source, by, now
        # A purchased list is not waiting for a callback: its leads join the queue due now,
        # without callback alerts (thousands of rows would each warn the whole team).
        self.warn_at = self.breach_at = now
        self.pending: list[dict] = []
        self.keys: set[str] = set()
        self.junk_reason_id: int | None = None
        self.total_weight = CriteriaIndex.active().total_weight

    def add(self, fields: dict, result: ImportResult) -> None:
        keys = set(channels.duplicate_keys(fields["points"]))
        if fields["external_id"]:
            keys.add("id:" + fields["external_id"])
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
        result.notes += [(f["row_number"], f["history_note"]) for f in fresh if "history_note" in f]
        originals = self._open_leads_matching(fresh)
        leads = Lead.objects.bulk_create(
            [self._lead(f, self._original(f, originals)) for f in fresh]
        )
        # Rows may arrive with their creation dates: their days of the team report change.
        lead_signals.imported.send(sender=Lead, leads=leads)
        LeadContactPoint.objects.bulk_create(
            row
            for lead, f in zip(leads, fresh, strict=True)
            for row in channels.point_rows(LeadContactPoint, f["points"], lead=lead)
        )
        # A lead imported as history says so in its history (a note on its arrival, not a
        # transition: the person report counts transitions as the actor's conversions).
        LeadEvent.objects.bulk_create(
            LeadEvent(
                lead=lead,
                actor=self.by,
                at=self.now,
                kind=LeadEvent.Kind.CREATED,
                note=f.get("history_note", ""),
            )
            for lead, f in zip(leads, fresh, strict=True)
        )
        # The columns that answer a criterion pre-fill the script (the lead's score was set
        # from them in _lead); bulk_create gave each lead its id.
        Answer.objects.bulk_create(
            found.answer(lead.pk, Answer.Origin.IMPORT, self.now)
            for lead, f in zip(leads, fresh, strict=True)
            for found in f.get("prefill", ())
        )
        result.created += len(leads)

    @staticmethod
    def _original(fields: dict, originals: dict[str, tuple]) -> int | None:
        """The open lead this row duplicates, by the rule of `channels.DUPLICATE_ORDER`."""
        found = [originals[k] for k in channels.duplicate_keys(fields["points"]) if k in originals]
        return min(found)[-1] if found else None

    def _open_leads_matching(self, batch: list[dict]) -> dict[str, tuple]:
        """Each phone and e-mail of the batch → the rank (channels.duplicate_rank) of the open
        lead holding it that ranks first: one query per batch."""
        keys = {k for f in batch for k in channels.duplicate_keys(f["points"])}
        matches = (
            LeadContactPoint.objects.filter(
                value__in=keys, lead__team=self.team, lead__state__in=Lead.OPEN_STATES
            )
            .values_list("value", "lead__duplicate_of_id", "lead__created_at", "lead_id")
            .order_by()
        )
        originals: dict[str, tuple] = {}
        for value, duplicate_of_id, created_at, lead_id in matches:
            rank = channels.duplicate_rank(duplicate_of_id, created_at, lead_id)
            if value not in originals or rank < originals[value]:
                originals[value] = rank
        return originals

    def _lead(self, fields: dict, duplicate_of: int | None) -> Lead:
        extra = {}
        if fields.get("state") == Lead.State.JUNK:
            # Junk in the other CRM: closed here too, with its status's reason if we have
            # one of that name, else the reason kept for imported junk.
            extra = {
                "state": Lead.State.JUNK,
                "junk_reason_id": fields.get("junk_reason_id") or self._imported_junk_reason(),
                "closed_at": self.now,
            }
        elif fields.get("imported_history"):
            # Converted in the other CRM: closed here as history, with no deal; never queued.
            extra = {
                "state": Lead.State.CONVERTED,
                "imported_history": True,
                "closed_at": self.now,
            }
        if fields.get("imported_status"):
            extra["imported_status"] = fields["imported_status"]
        if fields.get("assignee_id"):
            # The other CRM's responsible keeps the lead: a worked claim, one that never lapses.
            extra.update(assignee_id=fields["assignee_id"], claimed_at=self.now)
        return Lead(
            team=self.team,
            source=self.source,
            created_at=fields.get("created_at") or self.now,
            warn_at=self.warn_at,
            breach_at=self.breach_at,
            due_at=self.breach_at,
            duplicate_of_id=duplicate_of,
            name=channels.normalise_name(fields["name"]),
            form_answers=fields.get("form_answers") or {},
            **self._score(fields.get("prefill", ())),
            **{k: v for k, v in fields.items() if k in LEAD_FIELDS},
            **extra,
        )

    def _score(self, found: Iterable[Prefill]) -> dict[str, int | str]:
        points = [f.judgement.points for f in found]
        if not points:
            return {}
        score = scoring.score(points, self.total_weight)
        return {"score": score, "temperature": scoring.temperature(score)}

    def _imported_junk_reason(self) -> int:
        if self.junk_reason_id is None:
            reason, _created = JunkReason.objects.get_or_create(
                slug=IMPORTED_JUNK_SLUG,
                defaults={"name": _("Junk in the CRM it was imported from"), "order": 1000},
            )
            self.junk_reason_id = reason.pk
        return self.junk_reason_id
