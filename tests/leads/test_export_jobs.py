"""Exports as jobs: a long list is written by a worker (here the task runs inline) into a file
that is byte for byte what the page streams for a short one, in the reader's language; only
its requester downloads it; bad filters and failures say why."""

import io
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from crm.lib.phones import international
from leads import exports, services
from leads.models import ExportJob, Lead, LeadContactPoint, LeadSource
from tests.factories import make_lead


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def leads(world):
    """Leads with what the export formats: several phones with kinds and an extension, a
    neighbour country's number, an assignee, a formula-like name, utm tags, a closed lead and
    another team's lead (neither exported)."""
    first = make_lead(world.team, name="Иван Петров", phone="+79161234567", email="a@example.com")
    services.lead_contact_update(
        lead=first,
        by=world.head,
        phones=[("+79161234567", "mobile", ""), ("+74951234567", "work", "12")],
    )
    make_lead(world.team, name="=1+2 Формула", phone="+375291234567", utm_source="yandex")
    make_lead(world.team, name="Kazakh", phone="+77011234567", utm_term="кухни; на заказ")
    taken = make_lead(world.team, name="Taken", phone="+79031112233")
    Lead.objects.filter(pk=taken.pk).update(assignee=world.teammate, temperature="hot")
    closed = make_lead(world.team, name="Closed", phone="+79035556677")
    Lead.objects.filter(pk=closed.pk).update(state=Lead.State.JUNK)
    make_lead(world.other_team, name="Чужой Лид", phone="+79161234568")
    return first


def download(client, **query) -> bytes:
    return b"".join(client.get(reverse("leads:export"), query).streaming_content)


def job_file(client, settings, **filters) -> tuple[ExportJob, bytes]:
    """Start an export through the queue's button as a long list, run it as the worker
    would, and download its file."""
    settings.EXPORT_STREAM_MAX_ROWS = 0
    response = client.post(reverse("leads:export_start"), filters)
    assert response.status_code == 302
    job = ExportJob.objects.latest("id")
    assert response["Location"] == reverse("leads:exports") + f"#export-{job.pk}"
    exports.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE, job.error
    body = client.get(reverse("leads:export_download", args=[job.pk]))
    assert body.status_code == 200
    assert body["Content-Disposition"] == 'attachment; filename="leads.csv"'
    assert "no-store" in body["Cache-Control"]
    return job, b"".join(body.streaming_content)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_jobs_file_is_the_page_download_byte_for_byte(client, world, leads, settings, language):
    client.force_login(world.qualifier)
    client.cookies["django_language"] = language
    with translation.override(language):
        streamed = download(client, HTTP_ACCEPT_LANGUAGE=language)
        job, written = job_file(client, settings)
    assert job.language == language
    assert written == streamed
    text = written.decode("utf-8-sig")
    header, *rows = text.splitlines()
    assert len(rows) == 4  # the team's open leads: not the junk, not the other team's
    assert "Чужой" not in text and "Closed" not in text
    if language == "ru":
        assert header.startswith("ID;ФИО;Телефон") and "(мобильный)" in text
    else:
        assert header.startswith("Id;Full name;Phone")
        assert "+7 916 123-45-67 (mobile), +7 495 123-45-67 ext. 12 (work)" in text
    assert ";'=1+2 Формула;+375 29 123-45-67;" in text
    assert '"кухни; на заказ"' in text


def test_the_job_keeps_the_queues_filters(client, world, leads, settings):
    client.force_login(world.qualifier)
    _job, written = job_file(client, settings, temperature="hot")
    rows = written.decode("utf-8-sig").splitlines()[1:]
    assert len(rows) == 1 and ";Taken;" in rows[0]


def test_a_short_list_downloads_at_once(client, world, leads):
    client.force_login(world.qualifier)
    response = client.post(reverse("leads:export_start"), {"state": "new"})
    assert response["Location"] == reverse("leads:export") + "?state=new"
    assert not ExportJob.objects.exists()
    htmx = client.post(reverse("leads:export_start"), {"state": "new"}, HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == reverse("leads:export") + "?state=new"


def test_a_long_list_is_no_direct_download(client, world, leads, settings):
    settings.EXPORT_STREAM_MAX_ROWS = 1
    client.force_login(world.qualifier)
    response = client.get(reverse("leads:export"), {"state": "new"}, follow=True)
    assert "too many to download at once" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_bad_filters_get_a_clear_error_and_start_nothing(client, world, leads):
    client.force_login(world.qualifier)
    page = client.post(reverse("leads:export_start"), {"state": "junk"}, follow=True)
    assert "The export was not started: state: Select a valid choice." in page.content.decode()
    direct = client.get(reverse("leads:export"), {"source": "999999"})
    assert direct.status_code == 400 and "source" in direct.content.decode()
    api = APIClient()
    api.force_authenticate(world.qualifier)
    response = api.post("/api/v1/exports/", {"source": 999999}, format="json")
    assert response.status_code == 400
    assert "source: Select a valid choice" in str(response.json())
    assert api.post("/api/v1/exports/", {"state": "junk"}, format="json").status_code == 400
    assert not ExportJob.objects.exists()


def test_a_failed_job_shows_failed_with_its_reason(client, world, leads):
    source = LeadSource.objects.create(name="Gone", slug="gone", channel="web_form")
    job = exports.export_job_start(world.qualifier, {"source": source.pk}, "en", "UTC")
    source.delete()  # between the request and the worker
    exports.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and not job.file
    assert job.error.startswith("The filters are not valid: source:")
    client.force_login(world.qualifier)
    page = client.get(reverse("leads:exports")).content.decode()
    assert "failed" in page and "The filters are not valid" in page
    assert client.get(reverse("leads:export_download", args=[job.pk])).status_code == 404


def test_an_unexpected_failure_is_recorded_not_raised(world, leads, monkeypatch):
    job = exports.export_job_start(world.qualifier, {}, "en", "Europe/Moscow")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_csv", broken)
    exports.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED
    assert "failed on the server" in job.error and "disk full" not in job.error


def test_only_the_requester_downloads_and_sees_the_job(client, world, leads, settings):
    client.force_login(world.qualifier)
    job, _written = job_file(client, settings)
    for other in (world.teammate, world.outsider, world.head):
        client.force_login(other)
        assert client.get(reverse("leads:export_download", args=[job.pk])).status_code == 404
        assert client.get(reverse("leads:export_panel", args=[job.pk])).status_code in (403, 404)
        assert f"export-{job.pk}" not in client.get(reverse("leads:exports")).content.decode()
    api = APIClient()
    api.force_authenticate(world.teammate)
    assert api.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert api.get(f"/api/v1/exports/{job.pk}/download/").status_code == 404
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    assert exports.export_job_for(admin, job.pk) == job


def test_another_teams_leads_never_reach_the_file(client, world, leads, settings):
    client.force_login(world.outsider)
    _job, written = job_file(client, settings)
    text = written.decode("utf-8-sig")
    assert "Чужой Лид" in text and "Иван Петров" not in text


def test_the_api_creates_a_job_and_reports_its_progress_and_file(world, leads):
    api = APIClient()
    api.force_authenticate(world.qualifier)
    created = api.post(
        "/api/v1/exports/", {"state": "new"}, format="json", HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["state"] == "queued" and body["download_url"] is None
    assert body["filters"] == {"state": "new"} and body["language"] == "ru"
    exports.export_job_run(body["id"])
    status = api.get(f"/api/v1/exports/{body['id']}/").json()
    assert status["state"] == "done" and status["rows_done"] == status["rows_total"] == 4
    assert status["percent"] == 100
    assert status["download_url"].endswith(f"/api/v1/exports/{body['id']}/download/")
    file = api.get(status["download_url"])
    assert file.status_code == 200
    assert b"".join(file.streaming_content).decode("utf-8-sig").startswith("ID;ФИО")
    listed = api.get("/api/v1/exports/").json()
    assert [job["id"] for job in listed["results"]] == [body["id"]]


def test_the_exports_page_polls_while_running_and_links_the_file_when_done(client, world, leads):
    client.force_login(world.qualifier)
    job = exports.export_job_start(world.qualifier, {}, "en", "UTC")
    panel = client.get(reverse("leads:export_panel", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in panel and "queued" in panel
    exports.export_job_run(job.pk)
    panel = client.get(reverse("leads:export_panel", args=[job.pk])).content.decode()
    assert "hx-trigger" not in panel and "4 of 4 rows" in panel
    assert reverse("leads:export_download", args=[job.pk]) in panel


def test_a_job_runs_once(world, leads):
    job = exports.export_job_start(world.qualifier, {}, "en", "UTC")
    exports.export_job_run(job.pk)
    first = ExportJob.objects.get(pk=job.pk).file.name
    exports.export_job_run(job.pk)  # the message delivered twice
    assert ExportJob.objects.get(pk=job.pk).file.name == first


def test_old_exports_expire_with_their_files(world, leads, settings):
    settings.EXPORT_KEEP_DAYS = 7
    old = exports.export_job_start(world.qualifier, {}, "en", "UTC")
    exports.export_job_run(old.pk)
    old.refresh_from_db()
    path = old.file.path
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    fresh = exports.export_job_start(world.qualifier, {}, "en", "UTC")
    assert exports.exports_sweep() == 1
    assert list(ExportJob.objects.all()) == [fresh]
    assert not Path(path).exists()


@pytest.mark.parametrize(
    "region", ["RU", "KZ", "BY", "UA", "DE", "GB", "US", "FR", "IT", "AT", "CN", "BR", "IN"]
)
def test_phone_layouts_are_phonenumbers_own(region):
    """Numbers sharing all but their last four digits share a layout: checked against
    phonenumbers for numbers of many countries and kinds."""
    formats = exports.PhoneFormats()
    for kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
    ):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for tail in ("0000", "1234", "9876", e164[-4:]):
            number = e164[:-4] + tail
            assert formats(number) == international(number)


def test_a_job_whose_message_was_lost_is_sent_again(world, leads, monkeypatch):
    sent = []
    monkeypatch.setattr(exports, "_enqueue", sent.append)
    lost = exports.export_job_start(world.qualifier, {}, "en", "UTC")
    ExportJob.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    exports.export_job_start(
        world.qualifier, {}, "en", "UTC"
    )  # just asked: its message is on its way
    exports.exports_sweep()
    assert sent == [lost.pk]


def test_a_job_whose_worker_died_mid_file_runs_again_and_fails_after_three_tries(
    world, leads, monkeypatch
):
    sent = []
    monkeypatch.setattr(exports, "_enqueue", sent.append)
    job = exports.export_job_start(world.qualifier, {}, "ru", "UTC")
    running = ExportJob.objects.filter(pk=job.pk)
    for attempt in (1, 2, 3):
        running.update(
            state=ExportJob.State.RUNNING,
            attempts=attempt,
            heartbeat_at=timezone.now() - timedelta(minutes=5),
        )
        exports.exports_sweep()  # still writing: left alone
        assert running.get().state == ExportJob.State.RUNNING
        running.update(heartbeat_at=timezone.now() - timedelta(minutes=11))  # the worker died
        exports.exports_sweep()
        if attempt < 3:
            assert running.get().state == ExportJob.State.QUEUED
            assert sent[-1] == job.pk
            exports.export_job_run(job.pk)  # the next worker writes it whole
            assert running.get().state == ExportJob.State.DONE
            assert running.get().attempts == attempt + 1
    job = running.get()
    assert job.state == ExportJob.State.FAILED
    assert "3" in job.error and "сервере" in job.error  # in the requester's language


# Cells the CSV must quote or guard: quotes, the delimiter, commas, line breaks, Cyrillic, text
# a spreadsheet would run as a formula, empty cells.
AWKWARD = [
    "",
    'Иван "Ваня" Петров',
    "Смит; Джон",
    "a, b, c",
    "first line\nsecond line",
    "windows\r\nline",
    '=HYPERLINK("http://x")',
    "+7 (916) its text",
    "-1",
    "@SUM(A1)",
    "\tindented",
    "\rcarriage",
    "'quoted already",
    "ООО «Ромашка» № 5 % 100\\",
]


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("zone", ["Europe/Moscow", "Asia/Kolkata", "America/New_York", "UTC"])
def test_the_database_writes_the_same_bytes_as_the_row_by_row_path(world, language, zone):
    """On PostgreSQL the database writes the lines (`csv_batches`); `export_rows` through the
    csv module is the reference: the same bytes on awkward data, in both languages and in
    zones with odd offsets. (On SQLite both are the reference.)"""
    world.teammate.first_name, world.teammate.last_name = '=Ольга "Оля"', "Смирнова; мл."
    world.teammate.save()
    source = LeadSource.objects.create(
        name="Выставка; «Кухни», 2026", slug="expo", channel="web_form"
    )
    phones = ["+79161234567", "+375291234567", "+77011234567", "+442079460000", "+12025550123"]
    for i, text in enumerate(AWKWARD):
        lead = make_lead(world.team, name=f"lead {i}", phone=phones[i % len(phones)])
        other = AWKWARD[(i + 3) % len(AWKWARD)]
        Lead.objects.filter(pk=lead.pk).update(
            name=text,
            phone="" if i == 0 else phones[i % len(phones)],
            email=f"user{i}@example.com" if i % 3 else "",
            company_name=other,
            source=source if i % 2 else lead.source,
            utm_source=text,
            utm_medium=other,
            utm_campaign="кампания",
            utm_content="" if i % 2 else "a;b",
            utm_term=text[::-1],
            assignee=world.teammate if i % 3 == 1 else (world.qualifier if i % 3 == 2 else None),
            temperature=["hot", "warm", "cold", "potential"][i % 4],
            score=i * 7,
            due_at=timezone.now() + timedelta(minutes=37 * i),
        )
        LeadContactPoint.objects.filter(lead=lead).delete()
        for position in range(i % 4):  # none to three phones, kinds and extensions varied
            LeadContactPoint.objects.create(
                lead=lead,
                kind="phone",
                value=phones[(i + position) % len(phones)][:-1] + str(position),
                label=["mobile", "work", "home", "other"][(i + position) % 4],
                ext="" if position == 0 else str(100 + i),
                position=position,
            )
        for position in range(i % 3):  # none to two e-mails
            LeadContactPoint.objects.create(
                lead=lead,
                kind="email",
                value=(text.split("\n")[0] or "x") + f"{position}@пример.рф",
                label="work" if position else "other",
                position=position,
            )
    Lead.objects.filter(name="-1").update(state=Lead.State.CHECKED)
    with translation.override(language):
        leads = exports.queue_leads(world.head, {})
        assert leads.count() == len(AWKWARD)
        written = io.BytesIO()
        exports.write_csv(leads, ZoneInfo(zone), written)
        text = io.StringIO()
        reference = exports.csv_writer(text)
        reference.writerow(exports.titles())
        reference.writerows(exports.export_rows(leads, ZoneInfo(zone)))
    assert written.getvalue() == (exports.BOM + text.getvalue()).encode()
    assert written.getvalue().count(b"\r\n") >= len(AWKWARD) + 1
