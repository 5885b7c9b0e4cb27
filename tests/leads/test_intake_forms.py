"""Every real web form reaches the CRM without loss (issue 13): a lead with one good contact
channel is stored and the bad value kept for the qualifier; a form's own questions are kept;
undeclared Windows-1251 is read right; the builders' real payload shapes (Tilda, amoCRM,
Yandex Forms) are read whole."""

import json
from datetime import timedelta
from urllib.parse import quote_from_bytes, urlencode

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead, LeadSource

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def source(world) -> LeadSource:
    source = LeadSource.objects.get(slug="website")
    source.team = world.team
    source.save()
    return source


def post(source, body, content_type="application/json"):
    data = json.dumps(body) if content_type == "application/json" else body
    return APIClient().post(f"{URL}?key={source.intake_key}", data, content_type=content_type)


def cp1251(text: str) -> str:
    return quote_from_bytes(text.encode("cp1251"))


# --- Windows-1251 without a declared charset -------------------------------------------


def test_a_windows_1251_form_without_a_charset_is_stored_right_not_as_replacement_marks(source):
    body = (
        f"phone=%2B79161234567&name={cp1251('Анна Смирнова')}&message={cp1251('Кухня «Модерн» №5')}"
    )
    response = post(source, body, FORM)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.name, lead.message) == ("Анна Смирнова", "Кухня «Модерн» №5")


def test_raw_windows_1251_bytes_without_a_charset_are_read_too(source):
    body = "phone=+79161234567&name=Пётр".encode("cp1251")
    response = post(source, body, FORM)
    assert response.status_code == 201, response.content
    assert Lead.objects.get().name == "Пётр"


def test_utf8_forms_without_a_charset_are_still_utf8(source):
    response = post(source, f"phone=%2B79161234567&name={quote_from_bytes('Анна'.encode())}", FORM)
    assert response.status_code == 201
    assert Lead.objects.get().name == "Анна"


@pytest.mark.parametrize("junk", ["%98%98", "%A4%A6%A4", "%00%FF%FE%01"])
def test_bytes_in_neither_charset_are_a_400_never_a_mangled_lead(source, junk):
    response = post(source, f"phone=%2B79161234567&name={junk}", FORM)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Lead.objects.exists()


# --- one good channel is enough --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("8 916 12", "not a valid number"), ("8916АБВ4567", "has letters in it")],
)
def test_a_mistyped_phone_beside_a_valid_email_is_stored_and_flagged(
    source, world, client, typed, problem
):
    response = post(source, {"phone": typed, "email": "Anna@Example.ru", "name": "Анна"})
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.phone, lead.email) == ("", "anna@example.ru")
    assert lead.contact_problems["phone"]["typed"] == typed
    client.force_login(world.qualifier)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Phone as typed:" in page and typed in page and problem in page


def test_a_mistyped_email_beside_a_valid_phone_is_stored_and_flagged(source):
    response = post(source, {"phone": "+79161234567", "email": "anna@example"})
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert lead.contact_problems == {"email": {"typed": "anna@example", "problem": "invalid"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "8916АБВ4567"}, "phone"),
        ({"phone": "12345", "email": "nope"}, "email"),
        ({"name": "Only a name"}, "non_field_errors"),
    ],
)
def test_no_usable_channel_is_still_a_400_with_field_errors(source, body, field):
    response = post(source, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


def test_letters_in_a_phone_are_named_in_the_error(source):
    response = post(source, {"phone": "8 800 555-FLOW-ERS"})
    assert response.status_code == 400
    assert "letters" in response.json()["phone"][0]


def test_the_extension_and_the_words_after_a_phone_are_kept_apart_from_the_number(source):
    response = post(
        source, {"phone": "+7 916 123-45-67 доб. 123, Иван после 18:00", "message": "Кухня"}
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.phone, lead.phone_ext) == ("+79161234567", "123")
    assert lead.message == "Кухня\nИван после 18:00"


def test_a_neighbour_countrys_number_without_plus_is_taken(source):
    assert post(source, {"phone": "375 29 123-45-67"}).status_code == 201
    assert Lead.objects.get().phone == "+375291234567"


def test_utm_content_and_term_are_stored_read_by_the_api_and_exported(source, world, client):
    body = {"phone": "+79161234567", "utm_content": "banner-2", "utm_term": "кухни на заказ"}
    assert post(source, body).status_code == 201
    lead = Lead.objects.get()
    assert (lead.utm_content, lead.utm_term) == ("banner-2", "кухни на заказ")
    client.force_login(world.qualifier)
    read = client.get(f"/api/v1/leads/{lead.pk}/").json()
    assert (read["utm_content"], read["utm_term"]) == ("banner-2", "кухни на заказ")
    export = client.get(reverse("leads:export"))
    text = b"".join(export.streaming_content).decode("utf-8")
    assert "utm_content;utm_term" in text.splitlines()[0]
    assert text.splitlines()[1].endswith("banner-2;кухни на заказ;+7 916 123-45-67 (other);")


# --- the builders' real payloads -------------------------------------------------------


def tilda_body(**fields: str) -> str:
    """A Tilda webhook as Tilda sends it: form-encoded, the form's fields under the names its
    owner gave them, then tranid, formid and the visitor's COOKIES (TILDAUTM inside)."""
    utm = "|||".join(("utm_source=yandex", "utm_medium=cpc", "utm_content=ad-7", "utm_term=кухня"))
    base = {
        "Name": "Анна Смирнова",
        "Phone": "+7 (999) 111-22-33",
        "Email": "anna@example.ru",
        "Тип кухни": "угловая",
        "Бюджет": "300 000 ₽",
        "Город": "Казань",
        "tranid": "1234567:8765432101",
        "formid": "form512345678",
        "COOKIES": f"_ym_uid=1; TILDAUTM={quote_from_bytes(utm.encode())}",
    }
    return urlencode(base | fields)


def test_tilda_keeps_the_forms_own_questions_and_every_utm_tag(source):
    source.preset = LeadSource.Preset.TILDA
    source.save()
    response = post(source, tilda_body(Comments="Позвоните", Textarea="Хочу остров"), FORM)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert lead.message == "Позвоните"
    assert lead.form_answers == {
        "Тип кухни": "угловая",
        "Бюджет": "300 000 ₽",
        "Город": "Казань",
        "Textarea": "Хочу остров",
    }
    assert (lead.utm_source, lead.utm_content, lead.utm_term) == ("yandex", "ad-7", "кухня")


def test_tilda_with_a_mistyped_phone_and_a_valid_email_is_stored_not_lost(source, world, client):
    source.preset = LeadSource.Preset.TILDA
    source.save()
    response = post(source, tilda_body(Phone="+7 (999) 111-22"), FORM)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.phone, lead.email) == ("", "anna@example.ru")
    assert lead.contact_problems["phone"] == {"typed": "+7 (999) 111-22", "problem": "invalid"}
    client.force_login(world.qualifier)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Form answers" in page and "угловая" in page


def test_amocrm_reads_fields_past_one_without_a_code_and_a_second_phone(source):
    source.preset = LeadSource.Preset.AMOCRM
    source.save()
    contact = "contacts[add][0]"
    body = {
        f"{contact}[id]": "5001",
        f"{contact}[name]": "Ольга Петрова",
        f"{contact}[responsible_user_id]": "123",
        f"{contact}[date_create]": "1700000000",
        # The account's own field: an id and a name, no code.
        f"{contact}[custom_fields][0][id]": "448001",
        f"{contact}[custom_fields][0][name]": "Город",
        f"{contact}[custom_fields][0][values][0][value]": "Тверь",
        f"{contact}[custom_fields][1][id]": "448002",
        f"{contact}[custom_fields][1][name]": "Телефон",
        f"{contact}[custom_fields][1][code]": "PHONE",
        f"{contact}[custom_fields][1][values][0][value]": "+79000000001",
        f"{contact}[custom_fields][1][values][0][enum]": "WORK",
        f"{contact}[custom_fields][1][values][1][value]": "8 (916) 123-45-67",
        f"{contact}[custom_fields][1][values][1][enum]": "MOB",
        f"{contact}[custom_fields][2][id]": "448003",
        f"{contact}[custom_fields][2][name]": "Email",
        f"{contact}[custom_fields][2][code]": "EMAIL",
        f"{contact}[custom_fields][2][values][0][value]": "olga@example.ru",
        "account[subdomain]": "demo",
        "account[id]": "29000000",
    }
    response = APIClient().post(f"{URL}?key={source.intake_key}", body)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.phone, lead.email) == ("+79000000001", "olga@example.ru")
    # Every PHONE value, with the kind its enum names.
    assert [(p.kind, p.value, p.label) for p in lead.points.all()] == [
        ("email", "olga@example.ru", "other"),
        ("phone", "+79000000001", "work"),
        ("phone", "+79161234567", "mobile"),
    ]
    assert lead.form_answers == {"Город": "Тверь"}


def test_yandex_forms_params_beyond_our_fields_are_kept_as_form_answers(source):
    source.preset = LeadSource.Preset.YANDEX_FORMS
    source.save()
    body = {
        "jsonrpc": "2.0",
        "method": "lead",
        "id": "a1b2",
        "params": {"name": "Пётр", "phone": "+79161230000", "budget": "до 200 000"},
    }
    response = post(source, body)
    assert response.status_code == 201, response.content
    assert Lead.objects.get().form_answers == {"budget": "до 200 000"}


def test_the_honeypot_and_technical_keys_are_no_form_answers(source):
    source.honeypot_field = "website_url"
    source.save()
    body = {"phone": "+79161234567", "website_url": "", "formid": "f1", "Комментарий": "Позвоните"}
    assert post(source, body).status_code == 201
    assert Lead.objects.get().form_answers == {"Комментарий": "Позвоните"}


# --- the one-statement insert stores what the ORM stores -------------------------------


def test_the_one_statement_insert_stores_every_column_the_orm_path_stores(source, world):
    fields = {
        "name": "Анна",
        "phone": "+79161234567",
        "phone_ext": "123",
        "email": "anna@example.ru",
        "company_name": "ООО Кухни",
        "message": "Кухня",
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "k",
        "utm_content": "ad-7",
        "utm_term": "кухня",
        "form_answers": {"Бюджет": "300 000"},
        "contact_problems": {"email": {"typed": "x@", "problem": "invalid"}},
    }
    now = timezone.now()
    received, created = services.lead_receive(source=source, fields=fields | {"external_id": "1"})
    assert created
    made = services.lead_create(
        team=world.team, source=source, now=now + timedelta(seconds=1), **fields
    )
    skip = {"id", "external_id", "duplicate_of", "created_at", "due_at", "warn_at", "breach_at"}
    columns = [f.attname for f in Lead._meta.concrete_fields if f.name not in skip]
    first, second = (
        Lead.objects.filter(pk=pk).values(*columns).get() for pk in (received.pk, made.pk)
    )
    assert first == second, connection.vendor
    assert first["form_answers"] == {"Бюджет": "300 000"}


def test_form_answers_jsonb_cannot_hold_are_left_out_never_a_5xx(source):
    raw = (
        '{"phone": "+79161234567", "bad\\u0000key": "x", "odd": "\\ud800", "Город": "Тверь\\u0000"}'
    )
    response = APIClient().post(
        f"{URL}?key={source.intake_key}", raw, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Lead.objects.get().form_answers == {}


def test_form_answers_keep_numbers_and_nested_answers_as_text(source):
    body = {"phone": "+79161234567", "rooms": 3, "address": {"city": "Тверь"}}
    assert post(source, body).status_code == 201
    assert Lead.objects.get().form_answers == {"rooms": "3", "address.city": "Тверь"}


def multipart(fields: dict[str, bytes]) -> bytes:
    parts = [
        b'--XyZ\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value
        for name, value in fields.items()
    ]
    return b"\r\n".join(parts) + b"\r\n--XyZ--\r\n"


def test_a_multipart_form_in_windows_1251_without_a_charset_is_stored_right(source):
    body = multipart(
        {"phone": b"+79161234567", "name": "Анна".encode("cp1251"), "city": "Тверь".encode()}
    )
    response = post(source, body, "multipart/form-data; boundary=XyZ")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.name, lead.form_answers) == ("Анна", {"city": "Тверь"})


def test_a_multipart_part_in_neither_charset_is_a_400(source):
    body = multipart({"phone": b"+79161234567", "name": b"\x98\x98"})
    response = post(source, body, "multipart/form-data; boundary=XyZ")
    assert response.status_code == 400
    assert not Lead.objects.exists()
