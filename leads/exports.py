"""The queue as CSV that Excel opens as it is (UTF-8 with a BOM, ";"), in the reader's language
and time zone: streamed by the page for a short list, written to a file by a worker for a long
one (an ExportJob), both from `export_rows` — one format, one reading function.

Speed: a row costs Python, not the database. Rows are read as tuples from a server-side cursor
(no model instances), the labels (states, kinds, assignees) looked up once per export, every
lead's phones and e-mails fetched in one query per batch, and phone formatting — phonenumbers'
rules, over 100 µs a number — done once per number prefix (`PhoneFormats`)."""

import csv
import io
import logging
import tempfile
from collections.abc import Iterator
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
from crm.lib.spreadsheets import safe_cell
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
    database `using` names (the default one when None): all of the export's reading is here.
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


def stream(leads: QuerySet[Lead], zone: ZoneInfo, language: str) -> Iterator[str]:
    """The CSV as lines for a streaming response, written in `language`: the lines are made
    after the view has returned, when the request's language is no longer active."""
    echo = _Echo()
    writer = csv_writer(echo)
    with translation.override(language):
        yield BOM + writer.writerow(titles())
        # Off the primary when a replica is usable (crm/replica.py).
        rows = replica.streamed(lambda db: export_rows(leads, zone, db))
        yield from (writer.writerow(row) for row in rows)


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
    """The CSV into a binary file, as the page streams it; the rows written. Rows are written
    a thousand at a time into text, then encoded: memory stays flat at any size."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    buffer.write(BOM)
    writer.writerow(titles())
    done = 0
    rows = export_rows(leads, zone, using)
    while chunk := list(islice(rows, 1000)):
        writer.writerows(chunk)
        raw.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
        done += len(chunk)
        if job_id is not None and done % progress_every < 1000:
            ExportJob.objects.filter(pk=job_id).update(rows_done=done, heartbeat_at=timezone.now())
    raw.write(buffer.getvalue().encode())  # the titles, when there is no row
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
