"""Bitrix24 and amoCRM exports imported as they are (issue 13, item 3), with files generated in
their shapes by tests/leads/exports.py."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from crm.deadlines.models import Deadline
from leads.import_presets import AMOCRM, BITRIX24, detect_preset
from leads.imports import guess_mapping, import_leads, open_file
from leads.models import JunkReason, Lead, LeadImport, LeadSource
from tests.factories import make_lead
from tests.leads.exports import (
    BITRIX24_HEADER,
    Bitrix24Lead,
    amocrm_xlsx,
    bitrix24_csv,
    bitrix24_html_xls,
    e164,
)

pytestmark = pytest.mark.django_db

UNKNOWN = "Пётр Неизвестный"


def phones(lead: Lead) -> list[tuple[str, str, str]]:
    """The lead's phones as (number, kind, extension), the primary one first."""
    return [(p.value, p.label, p.ext) for p in lead.points.filter(kind="phone")]


def run(world, raw: bytes, **options):
    csv_file = open_file(raw)
    mapping = options.pop("mapping", guess_mapping(csv_file.header))
    source = LeadSource.objects.get()
    return import_leads(csv_file, mapping, team=world.team, source=source, **options)


def responsibles(world) -> list[str]:
    return [world.qualifier.get_full_name(), UNKNOWN]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1251"])
def test_bitrix24_csv_of_1200_leads_loses_no_row_phone_or_surname(world, encoding):
    raw = bitrix24_csv(1200, encoding=encoding, responsibles=responsibles(world))
    mapping = guess_mapping(open_file(raw).header)
    assert mapping["phone"] == ["Мобильный телефон", "Рабочий телефон", "Домашний телефон"]
    assert mapping["email"] == ["Рабочий e-mail", "Частный e-mail"]
    assert (mapping["name"], mapping["last_name"], mapping["middle_name"]) == (
        "Имя",
        "Фамилия",
        "Отчество",
    )

    result = run(world, raw)

    assert (result.total, result.created, result.bad_rows) == (1200, 1200, 0), result.errors[:3]
    leads = {lead.external_id: lead for lead in Lead.objects.all()}
    assert len(leads) == 1200
    for i in (0, 1, 2, 7, 10, 11):
        expected = Bitrix24Lead(i)
        lead = leads[str(100000 + i)]
        assert lead.name == expected.full_name  # Фамилия Имя Отчество
        assert lead.phone == e164(i)  # from "Рабочий телефон" or "Мобильный телефон"
    # Two numbers in one cell: both kept, with the kind their column names.
    assert [number for number, _kind, _ext in phones(leads["100010"])][:2] == [
        e164(10),
        e164(10, "925"),
    ]
    assert all(lead.name.startswith(Bitrix24Lead(0).surname) for lead in [leads["100000"]])


def test_bitrix24_status_date_and_responsible(world):
    raw = bitrix24_csv(60, responsibles=responsibles(world))
    run(world, raw)
    moscow = ZoneInfo(world.team.time_zone)
    junk = Lead.objects.get(external_id="100007")  # "Некачественный лид"
    assert junk.state == Lead.State.JUNK
    assert junk.junk_reason == JunkReason.objects.get(slug="imported")
    assert junk.closed_at is not None
    fresh = Lead.objects.get(external_id="100002")
    assert fresh.state == Lead.State.NEW
    assert fresh.created_at == Bitrix24Lead(2).created.replace(tzinfo=moscow)
    assert "Status in the other CRM: Не обработан" in fresh.message
    assert fresh.assignee == world.qualifier  # matched by full name
    assert fresh.claim_expires_at is None  # the responsible keeps it
    assert not fresh.deadlines.exists()  # imported leads raise no SLA alerts
    unmatched = Lead.objects.get(external_id="100001")
    assert unmatched.assignee is None
    assert f"Responsible: {UNKNOWN}" in unmatched.message  # kept, row not refused
    commented = Lead.objects.get(external_id="100004")
    assert 'просит перезвонить "после обеда"' in commented.message
    assert "Название лида: Заявка с сайта №4" in commented.message
    assert (commented.utm_source, commented.utm_medium) == ("google", "cpc")


def test_a_junk_status_named_like_our_reason_gets_that_reason(world):
    reason = JunkReason.objects.create(name="Некачественный лид", slug="bad-lead")
    run(world, bitrix24_csv(10))
    assert Lead.objects.get(external_id="100007").junk_reason == reason


def bitrix24_file(rows: list[list[str]]) -> bytes:
    header = ["ID", "Название лида", "Имя", "Фамилия", "Статус", "Рабочий телефон"]
    header += ["Мобильный телефон", "Рабочий e-mail"]
    lines = [";".join(header)] + [";".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def test_a_converted_lead_is_imported_as_history(world, client):
    raw = bitrix24_file(
        [
            ["1", "Заявка", "Иван", "Иванов", "Качественный лид", "+79161234567", "", ""],
            ["2", "Заявка", "Анна", "Петрова", "В работе", "+79161234568", "", ""],
        ]
    )
    dry = run(world, raw, dry_run=True)
    assert (dry.created, dry.bad_rows) == (0, 0)
    assert dry.notes == [
        (
            2,
            "Imported as converted history: Качественный лид in Bitrix24, its deal is there.",
        )
    ]
    assert not Lead.objects.exists()

    result = run(world, raw)
    assert (result.created, result.bad_rows, len(result.notes)) == (2, 0, 1)
    history = Lead.objects.get(external_id="1")
    assert (history.state, history.imported_history) == (Lead.State.CONVERTED, True)
    assert history.imported_status == "Качественный лид"  # the original status, kept
    assert history.closed_at is not None
    assert not hasattr(history, "deal") or history.deal is None
    event = history.events.get()
    assert (event.kind, event.to_state) == ("created", "")  # no conversion by the importer
    assert "Imported as converted history" in event.note
    other = Lead.objects.get(external_id="2")
    assert (other.state, other.imported_history, other.imported_status) == (
        Lead.State.NEW,
        False,
        "В работе",
    )
    # Imported once: the same file again adds nothing and lists no history row.
    again = run(world, raw)
    assert (again.created, again.already_imported, again.notes) == (0, 2, [])
    # Never in the queue; the lead page says what it is.
    client.force_login(world.head)
    queue = client.get(reverse("leads:queue")).content.decode()
    assert "Петрова" in queue and "Иванов" not in queue
    page = client.get(reverse("leads:detail", args=[history.pk])).content.decode()
    assert "history-note" in page and "Качественный лид" in page


def test_history_leaves_the_report_figures_as_they_were(world):
    from django.utils import timezone

    from reports.people import insights
    from reports.periods import period_ending_today
    from reports.selectors import qualification_figures

    make_lead(world.team, source=LeadSource.objects.get())
    zone = ZoneInfo(world.team.time_zone)
    period = period_ending_today(30, timezone.now().astimezone(zone).date(), zone)
    before = qualification_figures(world.team, period)
    quality = insights([world.team.pk], period)["sources"]
    assert before["leads"] == 1
    raw = bitrix24_file(
        [["1", "Заявка", "Иван", "Иванов", "Качественный лид", "+79031234567", "", ""]]
    )
    assert run(world, raw).created == 1
    assert Lead.objects.filter(imported_history=True).count() == 1
    assert qualification_figures(world.team, period) == before
    assert insights([world.team.pk], period)["sources"] == quality


def test_amocrm_won_deal_is_imported_as_history(world):
    run(world, amocrm_xlsx(8))
    won = Lead.objects.get(external_id="5005")  # "Успешно реализовано"
    assert (won.state, won.imported_history) == (Lead.State.CONVERTED, True)
    assert won.imported_status == "Успешно реализовано"


def test_every_phone_and_e_mail_is_kept_with_its_kind_and_extension(world):
    raw = bitrix24_file(
        [
            [
                "1",
                "Заявка",
                "Иван",
                "Иванов",
                "",
                '"+7 495 123-45-67 доб. 123, +79161234567"',
                "+79251234567, 8 916 000",
                "a@example.com, b@example.com",
            ],
        ]
    )
    result = run(world, raw)
    assert result.created == 1, result.errors
    lead = Lead.objects.get()
    # Column order (the preset's: mobile, then work), then cell order; the kind from the column.
    assert phones(lead) == [
        ("+79251234567", "mobile", ""),
        ("+74951234567", "work", "123"),
        ("+79161234567", "work", ""),
    ]
    assert (lead.phone, lead.phone_ext, lead.email) == ("+79251234567", "", "a@example.com")
    emails = [(p.value, p.label) for p in lead.points.filter(kind="email")]
    assert emails == [("a@example.com", "work"), ("b@example.com", "work")]
    # What is no number is not lost: it stays in the message.
    assert "Other phones: 8 916 000" in lead.message
    assert "Extension" not in lead.message


def test_an_invalid_only_phone_still_refuses_the_row(world):
    raw = bitrix24_file([["1", "Заявка", "Иван", "Иванов", "", "12345", "", ""]])
    result = run(world, raw)
    assert result.bad_rows == 1 and "phone" in result.errors[0][1]


def test_amocrm_xlsx_export(world):
    raw = amocrm_xlsx(40, responsibles=responsibles(world))
    csv_file = open_file(raw)
    assert csv_file.encoding == "xlsx"
    assert detect_preset(csv_file.header) is AMOCRM
    result = run(world, raw)
    assert (result.total, result.created, result.bad_rows) == (40, 40, 0), result.errors[:3]
    even, odd = Lead.objects.get(external_id="5000"), Lead.objects.get(external_id="5001")
    assert (even.name, even.phone) == ("Иванов Иван", e164(0, "903"))
    assert even.email == "amo0@example.com"
    assert odd.phone == e164(1, "965")  # a number cell, read as text
    assert "Теги: VIP, сайт" in odd.message
    assert odd.company_name == "ИП Петрова"
    assert odd.created_at == datetime(2026, 3, 3, 9, 15, 7, tzinfo=ZoneInfo("Europe/Moscow"))
    assert Lead.objects.get(external_id="5003").state == Lead.State.JUNK  # "Закрыто и не …"
    assert even.utm_source == "vk"


def test_bitrix24_html_xls_export(world):
    csv_file = open_file(bitrix24_html_xls(30))
    assert csv_file.encoding.startswith("html")
    assert detect_preset(csv_file.header) is BITRIX24
    result = run(world, bitrix24_html_xls(30))
    assert (result.total, result.created, result.bad_rows) == (30, 30, 0), result.errors[:3]
    lead = Lead.objects.get(external_id="100004")
    assert lead.name == Bitrix24Lead(4).full_name
    assert "Звонил 4-й раз;\nпросит перезвонить" in lead.message  # <br> is a line break


def test_a_broken_workbook_is_refused_clearly(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="workbook cannot be read"):
        open_file(b"PK\x03\x04 not really a zip")


def test_import_page_dry_run_then_import_of_a_bitrix24_export(client, world):
    client.force_login(world.head)
    converted = Bitrix24Lead(101).row("")
    converted[BITRIX24_HEADER.index("Стадия")] = "Сконвертирован"
    raw = bitrix24_csv(100, encoding="cp1251") + ";".join(converted).encode("cp1251")
    source = LeadSource.objects.get()
    file = SimpleUploadedFile("leads.csv", raw, content_type="text/csv")
    response = client.post(
        reverse("leads:import"), {"file": file, "team": world.team.pk, "source": source.pk}
    )
    job = LeadImport.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "A Bitrix24 export" in page, response.content.decode()[-3000:]
    data = {f"map_{f}": v for f, v in job.mapping.items()}
    client.post(reverse("leads:import_job", args=[job.pk]), {**data, "dry_run": "on"})
    for _ in range(5):
        client.post(reverse("leads:import_step", args=[job.pk]))
    job.refresh_from_db()
    # Rows 15 and 65 (Bitrix24Lead 13 and 63, "Качественный лид") and the last ("Сконвертирован").
    assert (job.status, job.bad_rows, job.history) == (LeadImport.Status.DONE, 0, 3)
    assert [number for number, _note in job.notes] == [15, 65, 102]
    page = client.get(reverse("leads:import_job", args=[job.pk])).content.decode()
    assert "dry-run-columns" in page and "Мобильный телефон" in page
    assert "history-rows" in page and "Imported as converted history: Сконвертирован" in page
    assert not Lead.objects.exists()

    # "Import this file now": the same file and mapping, on its own mapping page.
    response = client.post(reverse("leads:import_job", args=[job.pk]), {"import_now": "1"})
    again = LeadImport.objects.exclude(pk=job.pk).get()
    assert response["Location"] == reverse("leads:import_job", args=[again.pk])
    assert (again.mapping, again.status) == (job.mapping, LeadImport.Status.READY)
    client.post(reverse("leads:import_job", args=[again.pk]), data)
    for _ in range(5):
        client.post(reverse("leads:import_step", args=[again.pk]))
    again.refresh_from_db()
    assert (again.status, again.created, again.bad_rows) == (LeadImport.Status.DONE, 101, 0)
    assert again.history == 3
    assert Lead.objects.count() == 101
    assert Lead.objects.filter(imported_history=True, state=Lead.State.CONVERTED).count() == 3
    assert not Deadline.objects.exists()  # no SLA alerts for imported leads


def test_import_leads_command_with_a_bitrix24_export(world, tmp_path, capsys):
    path = tmp_path / "bitrix.csv"
    path.write_bytes(bitrix24_csv(50, encoding="cp1251", responsibles=responsibles(world)))
    call_command("import_leads", str(path), "--team", world.team.name, "--source", "website")
    out = capsys.readouterr().out
    assert "a Bitrix24 export" in out
    assert "phone=Мобильный телефон+Рабочий телефон+Домашний телефон" in out
    assert "50 rows: 50 created" in out
    assert e164(10, "925") in [n for n, _k, _e in phones(Lead.objects.get(external_id="100010"))]


def test_a_workbook_row_keeps_its_spreadsheet_number_past_a_blank_row(world):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["ФИО", "Телефон"], ["Иванов Иван", "+79161234567"], [], ["Петров", "12345"]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    result = run(world, out.getvalue())
    assert (result.created, [number for number, _ in result.errors]) == (1, [4])


def test_bitrix24_english_titles_and_a_responsible_matched_by_e_mail(world):
    world.qualifier.email = "Anna.Q@example.com"
    world.qualifier.save()
    raw = (
        b"ID,Lead name,First name,Middle name,Last name,Status,Work phone,Mobile phone,"
        b"Work e-mail,Responsible person,Created\n"
        b'7,Web form,John,Paul,Smith,Junk lead,,"+79161234567, +79161234568",j@example.com,'
        b"anna.q@example.com,02.03.2026 09:15\n"
    )
    assert detect_preset(open_file(raw).header) is BITRIX24
    result = run(world, raw)
    assert result.created == 1, result.errors
    lead = Lead.objects.get()
    assert (lead.name, phones(lead)) == (
        "Smith John Paul",
        [("+79161234567", "mobile", ""), ("+79161234568", "mobile", "")],
    )
    assert (lead.state, lead.assignee) == (Lead.State.JUNK, world.qualifier)
    assert lead.created_at == datetime(2026, 3, 2, 9, 15, tzinfo=ZoneInfo("Europe/Moscow"))


def test_amocrm_csv_export_maps_like_its_workbook(world):
    import csv
    import io

    from tests.leads.exports import AMOCRM_HEADER, amocrm_rows

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(AMOCRM_HEADER)
    for row in amocrm_rows(6, ["Анна Tester1"]):
        writer.writerow(
            [v.strftime("%d.%m.%Y %H:%M:%S") if hasattr(v, "strftime") else v for v in row]
        )
    result = run(world, out.getvalue().encode("utf-8-sig"))
    assert (result.created, result.bad_rows) == (6, 0), result.errors
    assert Lead.objects.get(external_id="5001").phone == e164(1, "965")


def test_an_unparsable_date_is_kept_in_the_message(world):
    raw = "ФИО;Телефон;Дата создания\nИванов;+79161234567;вчера вечером\n".encode()
    result = run(world, raw)
    assert result.created == 1
    assert "Created: вчера вечером" in Lead.objects.get().message


def test_a_bitrix24_row_with_every_phone_and_email_column_keeps_each_with_its_kind(world):
    """Bitrix24's five phone/e-mail columns, one of them with two numbers and an extension:
    every value stored, the kind from the column, duplicates found by the second phone."""
    row = Bitrix24Lead(1).row("")
    cell = {title: i for i, title in enumerate(BITRIX24_HEADER)}
    row[cell["Рабочий телефон"]] = "+7 495 123-45-67 доб. 123, +7 495 765-43-21"
    row[cell["Мобильный телефон"]] = "8 916 111-22-33"
    row[cell["Домашний телефон"]] = "8 (4822) 12-34-56"
    row[cell["Рабочий e-mail"]] = "olga@work.ru"
    row[cell["Частный e-mail"]] = "Olga@Mail.ru"
    original = make_lead(world.team, phone="+74957654321")  # the second work phone
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([BITRIX24_HEADER, row])
    result = run(world, out.getvalue().encode("utf-8-sig"))
    assert result.created == 1, result.errors
    lead = Lead.objects.get(external_id="100001")
    # The preset's column order: mobile, work, home.
    assert phones(lead) == [
        ("+79161112233", "mobile", ""),
        ("+74951234567", "work", "123"),
        ("+74957654321", "work", ""),
        ("+74822123456", "home", ""),
    ]
    emails = [(p.value, p.label, p.raw) for p in lead.points.filter(kind="email")]
    assert emails == [("olga@work.ru", "work", ""), ("olga@mail.ru", "home", "Olga@Mail.ru")]
    assert (lead.phone, lead.email) == ("+79161112233", "olga@work.ru")
    assert lead.duplicate_of == original
