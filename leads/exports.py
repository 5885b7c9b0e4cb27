"""The queue as CSV that Excel opens as it is (UTF-8 with a BOM, ";"), in the reader's language
and time zone: streamed by the page for a short list, written to a file by a worker for a long
one (an ExportJob), both from `csv_batches` — one format, one reading function.

Speed. On PostgreSQL the database writes almost all of each line (`_postgres_batches`): the
cells quoted as the csv module quotes them, the free text guarded against formulas, labels
from the catalogue in the reader's language, times in their zone; Python adds only what
phonenumbers knows (the phones' layouts, `PhoneFormats`) and the assignees' names, looked up
once each. On SQLite (tests, development) rows are read as tuples (`export_rows`) and written
by the csv module: the reference the PostgreSQL lines are tested against, byte for byte."""

import csv
import io
import logging
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from itertools import islice
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import replica
from crm.lib.phones import international
from crm.lib.spreadsheets import FORMULA_FIRST, safe_cell
from crm.teams.templatetags.people import person
from leads.channels import Label
from leads.filters import QueueFilter
from leads.models import ExportJob, Lead, LeadContactPoint
from leads.selectors import leads_visible_to

log = logging.getLogger(__name__)

COLUMNS: list[tuple[str, str | Promise]] = [
    ("id", gettext_lazy("Id")),
    ("name", gettext_lazy("Full name")),
    ("phone", gettext_lazy("Phone")),
    ("email", gettext_lazy("E-mail")),
    ("company_name", gettext_lazy("Company")),
    ("source", gettext_lazy("Source")),
    ("state", gettext_lazy("State")),
    ("temperature", gettext_lazy("Temperature")),
    ("score", gettext_lazy("Score")),
    ("assignee", gettext_lazy("Assignee")),
    ("created_at", gettext_lazy("Arrived")),
    ("due_at", gettext_lazy("Due")),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
    ("utm_content", "utm_content"),
    ("utm_term", "utm_term"),
    ("phones", gettext_lazy("All phones")),
    ("emails", gettext_lazy("All e-mails")),
]
# The lead's own columns, read as a tuple per row: the order of the row up to the utm tags.
_FIELDS = (
    "id",
    "name",
    "phone",
    "email",
    "company_name",
    "source__name",
    "state",
    "temperature",
    "score",
    "assignee_id",
    "created_at",
    "due_at",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
)
BATCH = 2000
BOM = "\ufeff"


class ExportError(ValueError):
    """The export cannot run as asked; `message` says why, for the person who asked."""


def queue_leads(user: User, filters: dict) -> QuerySet[Lead]:
    """The open leads of the user's teams as the queue's filters select them, in the queue's
    due order. Unknown filter values are an ExportError, never another list."""
    visible = leads_visible_to(user)
    queue_filter = QueueFilter(filters, queryset=visible, request=_Asker(user))
    if not queue_filter.is_valid():
        raise ExportError(
            "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in queue_filter.errors.items()
            )
        )
    return queue_filter.qs.filter(state__in=Lead.OPEN_STATES).order_by("due_at", "id")


class _Asker:
    """What QueueFilter reads of a request: who asks ("Mine" is theirs)."""

    def __init__(self, user: User) -> None:
        self.user = user


def titles() -> list[str]:
    return [str(title) for _field, title in COLUMNS]


def export_rows(leads: QuerySet[Lead], zone: ZoneInfo, using: str | None = None) -> Iterator[list]:
    """Every lead of `leads` as a CSV row in the active language, read in batches from the
    database `using` names (the default one when None): the export on SQLite, and the
    reference the PostgreSQL lines (`_postgres_batches`) are tested against.
    Cells a spreadsheet would run as a formula are quoted (crm.lib.spreadsheets): the free
    text; the phones are ours, the labels and times the catalogue's and ours."""
    db = using or leads.db
    leads = leads.using(db)
    in_database = connections[db].vendor == "postgresql"
    if in_database:  # the server writes the times: no datetimes made and formatted here
        leads = leads.annotate(
            arrived=_local_minute("created_at", zone), due=_local_minute("due_at", zone)
        )
    fields = (
        *_FIELDS[:10],
        "arrived" if in_database else "created_at",
        "due" if in_database else "due_at",
        *_FIELDS[12:],
    )
    minute = str if in_database else lambda moment: moment.astimezone(zone).isoformat(" ")[:16]
    states = {value: str(label) for value, label in Lead.State.choices}
    temperatures = {value: str(label) for value, label in Lead.Temperature.choices}
    kinds = {value: str(label) for value, label in Label.choices}
    ext = _("ext. %(ext)s")
    people: dict[int | None, str] = {None: ""}
    phones = PhoneFormats()
    tuples = leads.values_list(*fields).iterator(chunk_size=BATCH)
    while batch := list(islice(tuples, BATCH)):
        points = _points(db, [row[0] for row in batch], phones, kinds, ext)
        unknown = {row[9] for row in batch} - people.keys()
        if unknown:
            found = User.objects.using(db).filter(pk__in=unknown)
            people.update((u.pk, safe_cell(person(u))) for u in found)
        for row in batch:
            phone_cells, email_cells = points.get(row[0], ("", ""))
            yield [
                row[0],
                safe_cell(row[1]),
                phones(row[2]),
                safe_cell(row[3]),
                safe_cell(row[4]),
                safe_cell(row[5]),
                states.get(row[6], row[6]),
                temperatures.get(row[7], row[7]),
                row[8],
                people[row[9]],
                minute(row[10]),  # 2026-03-02 09:15
                minute(row[11]),
                safe_cell(row[12]),
                safe_cell(row[13]),
                safe_cell(row[14]),
                safe_cell(row[15]),
                safe_cell(row[16]),
                phone_cells,
                safe_cell(email_cells),
            ]


def _local_minute(field: str, zone: ZoneInfo) -> Func:
    """A moment as "2026-03-02 09:15" in the zone, written by PostgreSQL."""
    return Func(
        Value(zone.key),
        F(field),
        template="to_char(timezone(%(expressions)s), 'YYYY-MM-DD HH24:MI')",
        output_field=CharField(),
    )


def _points(
    db: str, lead_ids: list[int], phones: "PhoneFormats", kinds: dict, ext: str
) -> dict[int, tuple[str, str]]:
    """Each lead's phones and e-mails, each in one cell, primary first, with its kind and
    extension: "+7 916 123-45-67 (mobile), +7 495 123-45-67 ext. 12 (work)"."""
    cells: dict[int, tuple[list[str], list[str]]] = {}
    connection = connections[db]
    params: list
    if connection.vendor == "postgresql":  # one array parameter, not 2,000
        where, params = "lead_id = ANY(%s)", [lead_ids]
    else:
        where, params = f"lead_id IN ({', '.join(['%s'] * len(lead_ids))})", lead_ids
    table = LeadContactPoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lead_id, kind, value, ext, label FROM {table} WHERE {where} "  # noqa: S608 - our table; values are parameters
            "ORDER BY lead_id, kind, position, id",
            params,
        )
        rows = cursor.fetchall()
    for lead_id, kind, value, extension, label in rows:
        is_phone = kind == "phone"
        text = phones(value) if is_phone else value
        if extension:
            text += " " + ext % {"ext": extension}
        cells.setdefault(lead_id, ([], []))[0 if is_phone else 1].append(
            f"{text} ({kinds.get(label, label)})"
        )
    return {lead_id: (", ".join(p), ", ".join(e)) for lead_id, (p, e) in cells.items()}


class PhoneFormats:
    """`international()` for many numbers. phonenumbers picks a number's layout by its country
    and leading digits and keeps its digits in order, so the layout found for +7916123xxxx is
    every +7916123xxxx's: the last four digits are filled into it. Numbers shorter than 11
    characters, or whose text does not hold exactly their digits, are formatted one by one."""

    KEPT = 50_000  # layouts remembered; more are forgotten (memory stays flat)

    def __init__(self) -> None:
        self.layouts: dict[str, str | None] = {}

    def __call__(self, e164: str) -> str:
        if len(e164) < 11:
            return international(e164)
        key = e164[:-4]
        layout = self.layouts.get(key, "")
        if layout == "":
            if len(self.layouts) >= self.KEPT:
                self.layouts.clear()
            layout = self.layouts[key] = _layout(e164)
        return international(e164) if layout is None else layout % tuple(e164[-4:])


def _layout(e164: str) -> str | None:
    text = international(e164)
    where = [i for i, char in enumerate(text) if char.isdigit()]
    digits = "".join(text[i] for i in where)
    if not e164.startswith("+") or digits != e164[1:] or "%" in text:
        return None
    chars = list(text)
    for i in where[-4:]:
        chars[i] = "%s"
    return "".join(chars)


def csv_writer(out: Any) -> Any:
    return csv.writer(out, delimiter=";")


def csv_batches(
    leads: QuerySet[Lead], zone: ZoneInfo, using: str | None = None
) -> Iterator[tuple[int, str]]:
    """The CSV's lines after the titles, a batch at a time: (rows, their text). PostgreSQL
    writes them (`_postgres_batches`); other databases go through `export_rows`."""
    db = using or leads.db
    if connections[db].vendor == "postgresql":
        yield from _postgres_batches(leads, zone, db)
        return
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    rows = export_rows(leads, zone, db)
    while chunk := list(islice(rows, BATCH)):
        writer.writerows(chunk)
        yield len(chunk), buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


# ------------------------------------------------------------- PostgreSQL writes the lines


def _csv_cell(text: str) -> str:
    """`text` as csv_writer writes it: in quotes, its quotes doubled, when it must be — when
    it holds the delimiter, the quote or a line break (tested one character at a time: twice
    as fast as a pattern)."""
    if ";" in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _sql_text(text: str) -> str:
    """A text of ours (a label, a zone's name) as an SQL constant: plain characters in
    quotes, the others (quotes, %, control characters) as chr(n). No parameter is needed, so
    the cell expressions below may repeat it."""
    parts = re.split(r"([^\w .,:;()/+=@#&*!?\[\]{}<>«»№-])", text)
    sql = [f"'{part}'" if i % 2 == 0 else f"chr({ord(part)})" for i, part in enumerate(parts)]
    return "(" + " || ".join(part for part in sql if part != "''") + ")" if text else "''"


def _sql_cell(expression: str, guarded: bool = True) -> str:
    """SQL for a text `expression` (never NULL) as csv_writer writes it; after safe_cell
    (the formula guard) when `guarded`. The guard's quote changes no quoting: the cell is
    tested as stored, and the guard evaluated once whichever way."""
    shown = expression
    if guarded:
        first = ", ".join(_sql_text(char) for char in sorted(FORMULA_FIRST))
        shown = (
            f"(CASE WHEN left({expression}, 1) IN ({first}) "
            f"THEN '''' || {expression} ELSE {expression} END)"
        )
    return (
        f"(CASE WHEN {expression} = '' THEN '' "
        f"""WHEN {expression} ~ ('[;"' || chr(13) || chr(10) || ']') """
        f"""THEN '"' || replace({shown}, '"', '""') || '"' ELSE {shown} END)"""
    )


def _sql_label(expression: str, labels: dict[str, str], quoted: bool = True) -> str:
    """SQL for a stored value as its label in the active language, or as itself when it has
    none (as `export_rows` writes it); `quoted` for a cell of its own."""
    cases = " ".join(
        f"WHEN {_sql_text(value)} THEN {_sql_text(_csv_cell(label) if quoted else label)}"
        for value, label in labels.items()
    )
    other = _sql_cell(expression, guarded=False) if quoted else expression
    return f"(CASE {expression} {cases} ELSE {other} END)"


def _lines_sql(leads_sql: str, zone: ZoneInfo) -> str:
    """The query whose rows are a line each but its contact points, cut where Python adds
    what phonenumbers knows and the assignee: (the lead's id, the line up to the phone, the
    phone, on to the assignee, the assignee's id, on to the contact phones). `leads_sql`
    selects `_FIELDS` in the export's order; its parameters are the query's."""
    labels = {value: str(label) for value, label in Lead.State.choices}
    temperatures = {value: str(label) for value, label in Lead.Temperature.choices}
    zone_sql = _sql_text(zone.key)
    columns = ", ".join(field.replace("__", "_") for field in _FIELDS)
    utm = " || ';' || ".join(_sql_cell(f"q.{field}") for field in _FIELDS[12:])
    return f"""
        SELECT
            q.id,
            q.id::text || ';' || {_sql_cell("q.name")} || ';',
            q.phone,
            ';' || {_sql_cell("q.email")} || ';' || {_sql_cell("q.company_name")} || ';'
                || {_sql_cell("q.source_name")} || ';' || {_sql_label("q.state", labels)}
                || ';' || {_sql_label("q.temperature", temperatures)} || ';'
                || q.score::text || ';',
            q.assignee_id,
            ';' || to_char(timezone({zone_sql}, q.created_at), 'YYYY-MM-DD HH24:MI')
                || ';' || to_char(timezone({zone_sql}, q.due_at), 'YYYY-MM-DD HH24:MI')
                || ';' || {utm} || ';'
        FROM ({leads_sql}) AS q({columns})
        ORDER BY q.due_at, q.id
    """  # noqa: S608 - our tables, our catalogue's texts as constants; values are parameters


def _points_sql() -> str:
    """The query of a batch's contact points, the leads' ids its one parameter (an array):
    a row per lead that has any — (its id, its phones, their tails " ext. 12 (work)", the end
    of its line: the e-mails' cell and "\\r\\n"). Looked up a batch at a time, the lookups
    walk the index `lead_point_export` in id order, index-only; one lookup per lead in the
    lines' query (a LATERAL join) cost half as much again, on the same core."""
    kinds = {value: str(label) for value, label in Label.choices}
    ext_before, ext_after = (_("ext. %(ext)s") % {"ext": "\0"}).split("\0")
    tail = (
        f"CASE WHEN ext = '' THEN '' ELSE {_sql_text(' ' + ext_before)} || ext || "
        f"{_sql_text(ext_after)} END || ' (' || {_sql_label('label', kinds, False)} || ')'"
    )
    return f"""
        SELECT
            lead_id,
            phones,
            tails,
            ';' || {_sql_cell("coalesce(emails, '')")} || chr(13) || chr(10)
        FROM (
            -- sorted once, aggregated in that order (not one sort per aggregate)
            SELECT
                lead_id,
                array_agg(value) FILTER (WHERE kind = 'phone') AS phones,
                array_agg(tail) FILTER (WHERE kind = 'phone') AS tails,
                string_agg(value || tail, ', ') FILTER (WHERE kind <> 'phone') AS emails
            FROM (
                SELECT lead_id, kind, value, {tail} AS tail
                FROM {LeadContactPoint._meta.db_table}
                WHERE lead_id = ANY(%s::bigint[])
                ORDER BY lead_id, kind, position, id
            ) AS points
            GROUP BY lead_id
        ) AS cells
    """  # noqa: S608 - our table, our catalogue's texts as constants; the ids a parameter


# The end of the line of a lead without contact points: an empty e-mails cell.
_NO_POINTS = (None, None, None, ";\r\n")


def _postgres_batches(leads: QuerySet[Lead], zone: ZoneInfo, db: str) -> Iterator[tuple[int, str]]:
    """`csv_batches` on PostgreSQL: each lead's line written by the database but for its
    phones (`PhoneFormats`) and assignee (their name, looked up once), read a batch at a
    time from a server-side cursor, with the batch's contact points: memory stays flat."""
    leads_sql, params = leads.values_list(*_FIELDS).query.get_compiler(using=db).as_sql()
    phones = PhoneFormats()
    people: dict[int | None, str] = {None: ""}
    with _reading_cursors(db, _lines_sql(leads_sql, zone), params) as (lines, points):
        for batch, cells in _fetched_ahead(lines, points, _points_sql()):
            unknown = {row[4] for row in batch} - people.keys()
            if unknown:
                found = User.objects.using(db).filter(pk__in=unknown)
                people.update((u.pk, _csv_cell(safe_cell(person(u)))) for u in found)
                # Deleted since the cursor's snapshot (the names are read on another
                # connection): no one to name.
                people.update((pk, "") for pk in unknown - people.keys())
            yield len(batch), _batch_text(batch, cells, phones, people)


def _batch_text(
    batch: list[tuple], cells: dict[int, tuple], phones: PhoneFormats, people: dict
) -> str:
    """A batch's lines: what the database wrote, the phones, the assignee and the contact
    points put together (the loop of the export's Python side: names bound locally)."""
    cell, get, no_points = _csv_cell, cells.get, _NO_POINTS
    lines: list[str] = []
    add = lines.append
    for lead_id, head, phone, middle, assignee, rest in batch:
        _id, numbers, tails, end = get(lead_id, no_points)
        if not numbers:
            points = ""
        elif len(numbers) == 1:  # most leads
            points = cell(phones(numbers[0]) + tails[0])
        else:
            points = cell(", ".join([phones(n) + t for n, t in zip(numbers, tails, strict=True)]))
        add(f"{head}{cell(phones(phone))}{middle}{people[assignee]}{rest}{points}{end}")
    return "".join(lines)


@contextmanager
def _reading_cursors(db: str, lines_sql: str, params: Any) -> Iterator[tuple[Any, Any]]:
    """The lines' query (`lines_sql`) declared as a server-side cursor on `db` that streams
    (PostgreSQL makes each batch when it is fetched), and a cursor for the batches' contact
    points. Outside a transaction each is on a connection of its own, so that both PostgreSQL
    processes work at once; the lines in a transaction of their own (Django's connection
    would hold the cursor past its commit: the whole result written out on the server before
    the first row); the job's progress is saved meanwhile on Django's. The points are read a
    moment after their lines, as the assignees' names are. Inside a transaction (tests), both
    on that transaction's connection, to see its rows."""
    connection = connections[db]
    if connection.in_atomic_block:
        with connection.cursor() as points, connection.chunked_cursor() as lines:
            _declare(points, lines, lines_sql, params)
            points.execute(_INDEX_SCANS_BACK)
            yield lines, points
        return
    with connection.wrap_database_errors:  # psycopg2's errors as Django's (replica.streamed)
        settings = connection.get_connection_params()
        own = connection.get_new_connection(settings)
        beside = connection.get_new_connection(settings)
        beside.autocommit = True  # each lookup on its own: no transaction left open
        try:
            with own.cursor() as setting, own.cursor(name="leads_export") as lines:
                points = beside.cursor()
                # Wrapped as Django wraps its own: the statements are logged on `db` and go
                # through its execute wrappers, like every other read of the export.
                if connection.queries_logged:
                    lines = connection.make_debug_cursor(lines)
                    points = connection.make_debug_cursor(points)
                _declare(setting, lines, lines_sql, params)
                yield lines, points
        finally:
            own.close()
            beside.close()


def _declare(setting: Any, lines: Any, lines_sql: str, params: Any) -> None:
    """Declare the lines' cursor (its plan is made now) with `setting`, a cursor on the
    same connection, in the same transaction."""
    setting.execute(_NO_JIT)
    setting.execute(_NO_INDEX_SCAN)
    lines.execute(lines_sql, params)


# Every line is read: walking `lead_open_due` visits the table once per lead, in no order of
# its pages (5.4 s of PostgreSQL's CPU at 1M leads, against 3.8 s for reading the table in its
# order and sorting). PostgreSQL prefers the walk by its estimate; plain index scans are off
# while the lines' query is planned (a bitmap scan, in the table's order, stays for a narrow
# filter), not for the contact points' lookups (index-only).
_NO_INDEX_SCAN = "SET LOCAL enable_indexscan = off"
_INDEX_SCANS_BACK = "RESET enable_indexscan"

# The lines' cost is estimated above what it takes, so PostgreSQL might compile the query
# (JIT): seconds of CPU, in each parallel worker, for nothing.
_NO_JIT = "SET LOCAL jit = off"


def _fetched_ahead(
    lines: Any, points: Any, points_sql: str
) -> Iterator[tuple[list[tuple], dict[int, tuple]]]:
    """The lines' cursor's rows a batch at a time with their contact points (by lead id),
    read ahead by two threads while the caller writes this batch: one fetches the next
    lines, the other looks up the points of the lines fetched. Both PostgreSQL processes and
    Python work at once (psycopg2 lets go of the GIL while it waits); a few batches at most
    are held."""

    def looked_up(fetched: Future) -> tuple[list[tuple], dict[int, tuple]]:
        batch = fetched.result()
        if not batch:
            return batch, {}
        # The ids as an array's text: psycopg2 adapts a list of 2,000 ints ten times slower.
        points.execute(points_sql, ["{" + ",".join([str(row[0]) for row in batch]) + "}"])
        return batch, {row[0]: row for row in points.fetchall()}

    with ThreadPoolExecutor(max_workers=1) as fetcher, ThreadPoolExecutor(max_workers=1) as looker:
        ahead = looker.submit(looked_up, fetcher.submit(lines.fetchmany, BATCH))
        while True:
            # The next batch's fetch and lookup queue behind this one's.
            after = looker.submit(looked_up, fetcher.submit(lines.fetchmany, BATCH))
            batch, cells = ahead.result()
            if not batch:
                return
            yield batch, cells
            ahead = after


def stream(leads: QuerySet[Lead], zone: ZoneInfo, language: str) -> Iterator[str]:
    """The CSV in pieces for a streaming response, written in `language`: they are made
    after the view has returned, when the request's language is no longer active."""
    echo = _Echo()
    writer = csv_writer(echo)
    with translation.override(language):
        yield BOM + writer.writerow(titles())
        # Off the primary when a replica is usable (crm/replica.py).
        batches = replica.streamed(lambda db: csv_batches(leads, zone, db))
        yield from (text for _rows, text in batches)


class _Echo:
    """csv.writer writes into this and gets the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


# ------------------------------------------------------------------ export jobs


def export_job_start(user: User, filters: dict, language: str, zone: str) -> ExportJob:
    """A job for the worker: the filters checked now (a bad one is an ExportError, no job),
    the task queued once the job is committed."""
    filters = {name: str(value) for name, value in filters.items() if value not in ("", None)}
    queue_leads(user, filters)  # raises on a bad filter
    job = ExportJob.objects.create(
        requested_by=user, filters=filters, language=language, time_zone=zone
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    """Hand the job to a worker. A broker that is down loses nothing: the job waits, queued,
    and the hourly sweep (`exports_sweep`) sends it again."""
    from leads.tasks import run_export

    try:
        run_export.delay(job_id)
    except Exception:  # noqa: BLE001 - any broker failure; the sweep sends it again
        log.warning("broker unavailable; export %s left for the sweep", job_id)


def export_job_run(job_id: int, using: str | None = None, progress_every: int = 20_000) -> None:
    """Write the job's file: the rows in the requester's language and zone, the progress saved
    as it goes. Any failure is recorded on the job with its reason."""
    queued = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.QUEUED)
    started = queued.update(
        state=ExportJob.State.RUNNING, heartbeat_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not started:
        return  # a repeated message: the job ran (or runs) already
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    try:
        with translation.override(job.language):
            leads = queue_leads(job.requested_by, job.filters)
            total = leads.using(using or leads.db).count()
            ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
            with tempfile.TemporaryFile("w+b") as raw:
                done = write_csv(leads, ZoneInfo(job.time_zone), raw, using, job.pk, progress_every)
                raw.seek(0)
                name = default_storage.save(f"exports/leads-{job.pk}.csv", File(raw))
    except ExportError as error:
        _fail(job, _("The filters are not valid: %(errors)s") % {"errors": error})
        return
    except Exception:
        log.exception("export %s failed", job.pk)
        _fail(job, _("The export failed on the server; the administrator has the details."))
        return
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.DONE, rows_done=done, file=name, finished_at=timezone.now()
    )


def write_csv(
    leads: QuerySet[Lead],
    zone: ZoneInfo,
    raw: IO[bytes],
    using: str | None = None,
    job_id: int | None = None,
    progress_every: int = 20_000,
) -> int:
    """The CSV into a binary file, as the page streams it; the rows written. Memory stays
    flat at any size: a batch of lines at a time (`csv_batches`)."""
    raw.write((BOM + csv_writer(_Echo()).writerow(titles())).encode())
    done = 0
    next_progress = progress_every
    for rows, text in csv_batches(leads, zone, using):
        raw.write(text.encode())
        done += rows
        if job_id is not None and done >= next_progress:
            ExportJob.objects.filter(pk=job_id).update(rows_done=done, heartbeat_at=timezone.now())
            next_progress = done + progress_every
    return done


def _fail(job: ExportJob, reason: str) -> None:
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.FAILED, error=reason, finished_at=timezone.now()
    )


def exports_of(user: User, limit: int = 20) -> list[ExportJob]:
    return list(ExportJob.objects.filter(requested_by=user)[:limit])


def export_jobs_of(user: User) -> QuerySet[ExportJob]:
    """The exports a user may see and download: their own; an administrator's, every one."""
    jobs = ExportJob.objects.all()
    return jobs if user.is_superuser else jobs.filter(requested_by=user)


def export_job_for(user: User, job_id: int) -> ExportJob:
    """One of `export_jobs_of(user)`; anyone else's is DoesNotExist."""
    return export_jobs_of(user).get(pk=job_id)


EXPORT_ATTEMPTS = 3  # a job that kills its worker each time is not tried forever
# A running job's worker writes its progress every few seconds; silent this long, it died.
EXPORT_STALL = timedelta(minutes=10)


def exports_sweep(now=None) -> int:
    """Beat, every ten minutes: jobs queued for over ten minutes (their message lost with a
    broker that was down) are sent again, and so are running jobs whose worker fell silent
    (killed mid-file) — failed after EXPORT_ATTEMPTS; finished exports older than
    EXPORT_KEEP_DAYS go, their files with them. The number deleted."""
    now = now or timezone.now()
    stalled = ExportJob.objects.filter(
        state=ExportJob.State.RUNNING,
        heartbeat_at__lt=now - EXPORT_STALL,
    )
    for job in stalled.filter(attempts__gte=EXPORT_ATTEMPTS):
        with translation.override(job.language):
            _fail(job, _("The export stopped on the server %(n)s times.") % {"n": job.attempts})
    stalled.update(state=ExportJob.State.QUEUED, rows_done=0)
    waiting = ExportJob.objects.filter(state=ExportJob.State.QUEUED).filter(
        Q(created_at__lt=now - timedelta(minutes=10)) | Q(attempts__gt=0)
    )
    for job_id in waiting.values_list("id", flat=True):
        _enqueue(job_id)  # run once however often sent: export_job_run starts only a queued job
    old = ExportJob.objects.filter(
        created_at__lt=now - timedelta(days=settings.EXPORT_KEEP_DAYS)
    ).exclude(state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING])
    count = 0
    for job in old.iterator():
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count
