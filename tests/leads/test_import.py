import io
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from leads.imports import guess_mapping, import_leads, open_csv
from leads.models import Lead, LeadEvent, LeadSource
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

RUSSIAN_EXCEL = (
    "ФИО;Телефон;E-mail;Компания;Комментарий\r\n"
    "Иванов Иван;8 (916) 123-45-67;ivan@example.ru;ООО Ромашка;Угловая кухня\r\n"
    "Петрова Анна;+7 916 765 43 21;;;\r\n"
    "Сидоров Пётр;12345;;;нет номера\r\n"
)


def run(world, text: bytes, **options):
    csv_file = open_csv(text)
    mapping = options.pop("mapping", guess_mapping(csv_file.header))
    source = LeadSource.objects.get()
    return import_leads(csv_file, mapping, team=world.team, source=source, **options)


def test_windows_1251_with_semicolons(world):
    result = run(world, RUSSIAN_EXCEL.encode("cp1251"))
    assert (result.total, result.created, result.bad_rows) == (3, 2, 1)
    assert result.errors[0][0] == 4  # the spreadsheet's row number, header being row 1
    assert "phone" in result.errors[0][1]
    lead = Lead.objects.get(phone="+79161234567")
    assert (lead.name, lead.company_name, lead.message) == (
        "Иванов Иван",
        "ООО Ромашка",
        "Угловая кухня",
    )
    assert LeadEvent.objects.filter(kind="created").count() == 2
    assert not lead.deadlines.exists()  # a list is not waiting for a callback: no alerts


def test_utf8_with_commas_and_quotes(world):
    text = (
        'name,phone,email,message\n"Smith, John",+79161112233,j@example.com,"line one\nline two"\n'
    )
    result = run(world, text.encode())
    assert result.created == 1
    assert Lead.objects.get().message == "line one\nline two"


def test_dry_run_stores_nothing(world):
    result = run(world, RUSSIAN_EXCEL.encode("cp1251"), dry_run=True)
    assert (result.total, result.bad_rows) == (3, 1)
    assert not Lead.objects.exists()


def test_all_or_nothing_stores_nothing_when_a_row_is_bad(world):
    result = run(world, RUSSIAN_EXCEL.encode("cp1251"), all_or_nothing=True)
    assert result.bad_rows == 1
    assert not Lead.objects.exists()
    good = "\r\n".join(RUSSIAN_EXCEL.split("\r\n")[:3]) + "\r\n"
    assert run(world, good.encode("cp1251"), all_or_nothing=True).created == 2


def test_reimport_skips_rows_already_imported_by_external_id(world):
    text = b"id;phone\nA1;+79161112233\nA2;+79161112244\nA1;+79161112233\n"
    first = run(world, text)
    assert (first.created, first.already_imported) == (2, 1)
    again = run(world, text)
    assert (again.created, again.already_imported) == (0, 3)
    assert Lead.objects.count() == 2


def test_rows_matching_open_leads_are_linked_as_duplicates(world):
    original = make_lead(world.team, phone="+79161112233", source=LeadSource.objects.get())
    text = b"phone;email\n+79161112233;\n+79995554433;x@example.com\n;X@example.com\n"
    run(world, text)
    assert (
        Lead.objects.get(phone="+79161112233", duplicate_of__isnull=False).duplicate_of == original
    )
    first_x = Lead.objects.get(phone="+79995554433")
    assert Lead.objects.get(phone="", email="x@example.com").duplicate_of == first_x


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x01\x02\xff\xfe\x98", "neither UTF-8"),
        (b"\n\n", "name the columns"),
        (b"phone;phone\n1;2\n", "named twice"),
    ],
)
def test_unreadable_files_are_refused(raw, message):
    with pytest.raises(ValidationError, match=message):
        open_csv(raw)


def test_mapping_must_name_existing_columns_and_a_contact_column(world):
    csv_file = open_csv("ФИО;Город\nИван;Москва\n".encode())
    with pytest.raises(ValidationError, match="phone or an e-mail"):
        import_leads(csv_file, {"name": "ФИО"}, team=world.team, source=LeadSource.objects.get())
    with pytest.raises(ValidationError, match="No such column"):
        import_leads(
            csv_file, {"phone": "Телефон"}, team=world.team, source=LeadSource.objects.get()
        )


def test_the_command_reports_rows_and_fails_on_bad_ones(world, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(RUSSIAN_EXCEL.encode("cp1251"))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command(
            "import_leads",
            str(path),
            team=world.team.name,
            source="website",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert exit_code.value.code == 1
    assert "row 4: phone" in out.getvalue()
    assert "3 rows: 2 created" in out.getvalue()


def test_a_hundred_thousand_rows(world):
    lines = ["ФИО;Телефон"] + [f"Клиент Номер{i};+7916{i:07d}" for i in range(100_000)]
    started = time.perf_counter()
    result = run(world, "\n".join(lines).encode("cp1251"))
    elapsed = time.perf_counter() - started
    assert (result.total, result.created, result.bad_rows) == (100_000, 100_000, 0)
    assert Lead.objects.count() == 100_000
    print(f"100,000-row import: {elapsed:.1f} s")
    if connection.vendor == "postgresql":
        # The rows' foreign keys are checked when the test's transaction ends, each by a plan
        # PostgreSQL keeps per connection: one made while an earlier test's tables were nearly
        # empty scans the whole table, for each of the 100,000 rows (7 to 20 minutes of
        # teardown). ANALYZE sees the new rows and has those plans made again.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
