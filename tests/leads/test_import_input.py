"""Files that once stopped an import with a server error: each is refused on upload with the
line that broke it, or read as what it is."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from leads.imports import open_csv
from leads.models import Lead, LeadImport, LeadSource

pytestmark = pytest.mark.django_db

GOOD = "ФИО;Телефон\nИванов Иван;+79161234567\nПетров Пётр;+79161234568\n"
NUL = "ФИО;Телефон\nИванов Иван;+79161234567\nПет\x00ров;+79161234568\n".encode()
UNCLOSED_QUOTE = (
    'ФИО;Телефон\nИванов;+79161234567\n"Петров;+79161234568\n' + "x" * 140_000
).encode()
BROKEN = [
    pytest.param(NUL, "Line 3 holds a NUL character", id="nul"),
    pytest.param(GOOD.encode("utf-16-le"), "Line 1 holds a NUL character", id="utf16-no-bom"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00", "workbook cannot be read", id="xlsx"),
    pytest.param(UNCLOSED_QUOTE, "Line 3 cannot be read as CSV", id="unclosed-quote"),
]


def upload(client, world, raw: bytes):
    file = SimpleUploadedFile("leads.csv", raw, content_type="text/csv")
    source = LeadSource.objects.get()
    return client.post(
        reverse("leads:import"), {"file": file, "team": world.team.pk, "source": source.pk}
    )


@pytest.mark.parametrize(("raw", "message"), BROKEN)
def test_a_broken_file_is_a_form_error_on_the_page(client, world, raw, message):
    client.force_login(world.head)
    response = upload(client, world, raw)
    assert response.status_code == 400  # a NUL once answered 500; refused input is a 400
    assert message in response.content.decode()
    assert not LeadImport.objects.exists()


@pytest.mark.parametrize(("raw", "message"), BROKEN)
def test_a_broken_file_is_a_command_error(world, tmp_path, raw, message):
    path = tmp_path / "leads.csv"
    path.write_bytes(raw)
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_leads",
            str(path),
            team=world.team.name,
            source="website",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        # Excel's "Unicode text", with its byte-order mark
        pytest.param(GOOD.encode("utf-16"), "utf-16", id="utf16"),
        pytest.param(GOOD.replace(";", "\t").encode("utf-16"), "utf-16", id="utf16-tabs"),
        pytest.param(GOOD.replace("\n", "\r").encode("cp1251"), "cp1251", id="cr-line-ends"),
    ],
)
def test_utf16_and_cr_line_ends_are_read(world, raw, encoding):
    csv_file = open_csv(raw)
    assert (csv_file.encoding, csv_file.header) == (encoding, ["ФИО", "Телефон"])
    assert csv_file.text.count("\n") == 3


def test_a_utf16_file_imports_from_the_page(client, world):
    client.force_login(world.head)
    upload(client, world, GOOD.encode("utf-16"))
    job = LeadImport.objects.get()
    client.post(
        reverse("leads:import_job", args=[job.pk]), {"map_name": "ФИО", "map_phone": "Телефон"}
    )
    client.post(reverse("leads:import_step", args=[job.pk]))
    assert set(Lead.objects.values_list("name", flat=True)) == {"Иванов Иван", "Петров Пётр"}
