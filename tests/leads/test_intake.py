"""POST /api/v1/intake/: every channel's web form lands here; bad posts get their answer and
store nothing."""

import io
import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leads.models import Lead, LeadSource

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def source(world) -> LeadSource:
    source = LeadSource.objects.get(slug="website")
    source.team = world.team
    source.allowed_origins = "https://kitchens.example.ru"
    source.save()
    return source


def post(source, body, *, content_type="application/json", **headers):
    client = APIClient()
    data = json.dumps(body) if content_type == "application/json" else body
    return client.post(
        URL, data, content_type=content_type, HTTP_X_INTAKE_KEY=source.intake_key, **headers
    )


def test_json_post_creates_a_lead_with_deadlines(source, world):
    response = post(
        source,
        {
            "name": "Иван Петров",
            "phone": "8 (916) 123-45-67",
            "email": "Ivan@Example.ru",
            "utm_source": "yandex",
            "external_id": "A-1",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert body["state"] == "new" and body["warn_at"] and body["breach_at"]
    assert (lead.team, lead.phone, lead.email, lead.utm_source) == (
        world.team,
        "+79161234567",
        "ivan@example.ru",
        "yandex",
    )


def test_form_encoded_post_with_the_key_in_the_url(source):
    client = APIClient()
    response = client.post(
        f"{URL}?key={source.intake_key}",
        "name=Anna+Smirnova&phone=%2B79161112233",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201
    assert Lead.objects.get().phone == "+79161112233"


def test_the_same_external_id_again_answers_200_with_the_same_id(source):
    first = post(source, {"phone": "+79161234567", "external_id": "X"})
    again = post(source, {"phone": "+79161234567", "external_id": "X"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Lead.objects.count() == 1


def test_a_lead_matching_an_open_lead_is_linked_as_duplicate(source):
    first = post(source, {"phone": "+79161234567"}).json()
    second = post(source, {"phone": "8 916 123 45 67", "name": "Again"}).json()
    assert Lead.objects.get(pk=second["id"]).duplicate_of_id == first["id"]
    assert "duplicate_of" not in second  # the sender does not learn the number was known
    assert Lead.objects.count() == 2


def test_duplicates_are_the_oldest_open_lead_of_the_same_team_by_phone_or_email(source, world):
    from tests.factories import make_lead

    elsewhere = make_lead(world.other_team, phone="+79161234567")
    closed = make_lead(world.team, phone="+79161234567")
    Lead.objects.filter(pk=closed.pk).update(state=Lead.State.JUNK)
    oldest = make_lead(world.team, phone="+79160000000", email="anna@example.ru")
    make_lead(world.team, phone="+79161234567")
    both = post(source, {"phone": "+79161234567", "email": "Anna@Example.ru"}).json()
    assert Lead.objects.get(pk=both["id"]).duplicate_of_id == oldest.pk
    fresh = post(source, {"phone": "+79169999999"}).json()
    assert Lead.objects.get(pk=fresh["id"]).duplicate_of_id is None
    assert not Lead.objects.filter(duplicate_of=elsewhere).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No contact"}, "non_field_errors"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "+79161234567", "name": "x" * 300}, "name"),
    ],
)
def test_bad_posts_get_400_with_field_errors_and_store_nothing(source, body, field):
    response = post(source, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("raw", ["{not json", '"a string"', '["a", "list"]', "null"])
def test_malformed_json_is_400(source, raw):
    response = APIClient().post(
        URL, raw, content_type="application/json", HTTP_X_INTAKE_KEY=source.intake_key
    )
    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_missing_key_is_401_and_unknown_key_403(source):
    client = APIClient()
    assert client.post(URL, {"phone": "+79161234567"}, format="json").status_code == 401
    response = client.post(URL, {"phone": "+79161234567"}, format="json", HTTP_X_INTAKE_KEY="nope")
    assert response.status_code == 403
    source.active = False
    source.save()
    assert post(source, {"phone": "+79161234567"}).status_code == 403
    assert not Lead.objects.exists()


def test_oversize_body_is_413(source):
    response = post(source, {"phone": "+79161234567", "message": "x" * 70_000})
    assert response.status_code == 413
    assert not Lead.objects.exists()


def test_wrong_content_type_is_415(source):
    response = post(source, "<lead/>", content_type="application/xml")
    assert response.status_code == 415
    assert not Lead.objects.exists()


def test_rate_limit_per_source_and_address_is_429(source):
    source.rate_limit_per_minute = 3
    source.save()
    codes = [post(source, {"phone": f"+7916123456{i}"}).status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    other_address = post(source, {"phone": "+79169999999"}, REMOTE_ADDR="10.0.0.9")
    assert other_address.status_code == 201
    assert Lead.objects.count() == 4


def test_cors_for_the_sources_allowed_origins(source):
    client = APIClient()
    preflight = client.options(
        URL, HTTP_ORIGIN="https://kitchens.example.ru", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://kitchens.example.ru"
    assert "X-Intake-Key" in preflight["Access-Control-Allow-Headers"]
    allowed = post(source, {"phone": "+79161234567"}, HTTP_ORIGIN="https://kitchens.example.ru")
    assert allowed["Access-Control-Allow-Origin"] == "https://kitchens.example.ru"
    foreign = post(source, {"phone": "+79161234568"}, HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in foreign
    refused = client.options(URL, HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in refused


def test_tilda_webhook_works_unchanged(source):
    source.preset = LeadSource.Preset.TILDA
    source.save()
    client = APIClient()
    url = f"{URL}?key={source.intake_key}"
    ping = client.post(url, "test=test", content_type="application/x-www-form-urlencoded")
    assert (ping.status_code, ping.content) == (200, b"ok")
    body = (
        "Name=%D0%90%D0%BD%D0%BD%D0%B0+%D0%A1%D0%BC%D0%B8%D1%80%D0%BD%D0%BE%D0%B2%D0%B0"
        "&Phone=%2B7+(999)+111-22-33&Email=anna%40example.ru&Comments=Kitchen"
        "&tranid=1234567%3A8765432101&formid=form512345678"
        "&COOKIES=_ym_uid%3D1%3B+TILDAUTM%3Dutm_source%253Dyandex%257C%257C%257Cutm_medium%253Dcpc%257C%257C%257C"
    )
    response = client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.name, lead.phone, lead.email, lead.message) == (
        "Анна Смирнова",
        "+79991112233",
        "anna@example.ru",
        "Kitchen",
    )
    assert (lead.external_id, lead.utm_source, lead.utm_medium) == (
        "1234567:8765432101",
        "yandex",
        "cpc",
    )
    assert (
        client.post(url, body, content_type="application/x-www-form-urlencoded").status_code == 200
    )


def test_amocrm_contact_webhook_works_unchanged(source):
    source.preset = LeadSource.Preset.AMOCRM
    source.save()
    prefix = "contacts[add][0]"
    body = {
        f"{prefix}[id]": "5001",
        f"{prefix}[name]": "Ольга Петрова",
        f"{prefix}[custom_fields][0][code]": "PHONE",
        f"{prefix}[custom_fields][0][values][0][value]": "+79000000001",
        f"{prefix}[custom_fields][1][code]": "EMAIL",
        f"{prefix}[custom_fields][1][values][0][value]": "olga@example.ru",
        "account[subdomain]": "demo",
    }
    response = APIClient().post(f"{URL}?key={source.intake_key}", body)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.name, lead.phone, lead.email, lead.external_id) == (
        "Ольга Петрова",
        "+79000000001",
        "olga@example.ru",
        "contact:5001",
    )


def test_yandex_forms_json_rpc_params(source):
    source.preset = LeadSource.Preset.YANDEX_FORMS
    source.save()
    body = {
        "jsonrpc": "2.0",
        "method": "lead",
        "id": 1,
        "params": {"name": "Пётр Иванов", "phone": "+79161230000", "external_id": "ya-77"},
    }
    response = post(source, body)
    assert response.status_code == 201, response.content
    assert Lead.objects.get().external_id == "ya-77"


def test_field_map_overrides_the_preset(source):
    source.field_map = {"message": "wishes", "name": "fio"}
    source.save()
    post(source, {"fio": "Мария Кузнецова", "phone": "+79161230001", "wishes": "Угловая кухня"})
    lead = Lead.objects.get()
    assert (lead.name, lead.message) == ("Мария Кузнецова", "Угловая кухня")


def test_the_shortcut_serves_the_routed_intake_path():
    # The middleware answers the intake before the page middleware; it must match the route.
    from django.urls import reverse

    from leads.intake_view import INTAKE_PATH

    assert reverse("api:intake") == INTAKE_PATH


def test_answers_are_in_the_posters_language(source):
    response = post(source, {"name": "Без телефона"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    assert "телефон" in str(response.json()).lower()


def test_other_methods_are_405(source):
    response = APIClient().get(URL, HTTP_X_INTAKE_KEY=source.intake_key)
    assert response.status_code == 405
    assert "POST" in response["Allow"]


def raw_post(source, raw: bytes | str, content_type="application/json", **headers):
    return APIClient().post(
        URL, raw, content_type=content_type, HTTP_X_INTAKE_KEY=source.intake_key, **headers
    )


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 30_000 + "]" * 30_000,  # deeper than the parser's stack: RecursionError
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        '{"phone": "+79161234567", "x": ' + "[" * 21 + "]" * 21 + "}",  # parses, but too deep
    ],
)
def test_deeply_nested_json_is_400_with_the_depth_limit(source, raw):
    response = raw_post(source, raw)
    assert response.status_code == 400
    assert "nested more than 20 levels" in response.json()["detail"]
    assert not Lead.objects.exists()


def test_json_nested_within_the_limit_is_taken(source):
    body = {"phone": "+79161234567", "extra": [[[{"deep": [1, 2, {"a": None}]}]]]}
    assert post(source, body).status_code == 201


@pytest.mark.parametrize("field", ["name", "message", "company_name", "utm_campaign", "phone"])
def test_a_lone_surrogate_is_400_naming_the_field(source, field):
    body = {"phone": "+79161234567", field: "Ива\ud800н"}  # json.dumps writes "\ud800"
    response = post(source, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Lead.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_kept(source):
    response = raw_post(source, '{"phone": "+79161234567", "name": "Kitchen \\ud83c\\udf73"}')
    assert response.status_code == 201
    assert Lead.objects.get().name == "Kitchen \N{COOKING}"


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "phone",
        "email",
        "company_name",
        "message",
        "external_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    ],
)
@pytest.mark.parametrize("value", [{"a": 1}, ["Анна", "Мария"], [{"a": 1}], True, 1.5, {}])
def test_a_value_that_is_not_text_is_a_field_error_never_a_mangled_lead(source, field, value):
    body = {"phone": "+79161234567", "email": "a@example.ru", field: value}
    response = post(source, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Lead.objects.exists()


def test_numbers_and_single_values_are_taken_as_the_text_they_are(source):
    body = {
        "phone": 79161234567,
        "external_id": 42,
        "name": ["Анна"],
        "message": [],
        "utm_source": None,
    }
    response = post(source, body)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.phone, lead.external_id, lead.name, lead.message) == (
        "+79161234567",
        "42",
        "Анна",
        "",
    )


def test_a_form_field_sent_twice_with_different_values_is_400(source):
    response = raw_post(
        source, "phone=%2B79161234567&name=A&name=B", "application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "name" in response.json()
    same = raw_post(
        source,
        "phone=%2B79161234567&phone=%2B79161234567&name=",
        "application/x-www-form-urlencoded",
    )
    assert same.status_code == 201


def test_yandex_params_that_are_not_text_are_400(source):
    source.preset = LeadSource.Preset.YANDEX_FORMS
    source.save()
    body = {"params": {"phone": "+79161230000", "name": {"first": "Пётр"}}}
    response = post(source, body)
    assert response.status_code == 400
    assert "name" in response.json()


def test_unread_keys_may_hold_anything(source):
    body = {"phone": "+79161234567", "answers": [{"q": 1}, True, 2.5], "meta": {"a": [1]}}
    assert post(source, body).status_code == 201


def test_company_name_is_stored(source):
    response = post(source, {"phone": "+79161234567", "company_name": "  ООО «Кухни»  "})
    assert response.status_code == 201
    assert Lead.objects.get().company_name == "ООО «Кухни»"
    long = post(source, {"phone": "+79161234568", "company_name": "x" * 201})
    assert long.status_code == 400 and "company_name" in long.json()


def test_tilda_company_field_and_field_map_reach_company_name(source):
    source.preset = LeadSource.Preset.TILDA
    source.save()
    body = "Phone=%2B79161234567&Company=Kitchens+Ltd&tranid=1"
    response = raw_post(source, body, "application/x-www-form-urlencoded")
    assert response.status_code == 201
    assert Lead.objects.get().company_name == "Kitchens Ltd"
    source.preset, source.field_map = LeadSource.Preset.GENERIC, {"company_name": "org"}
    source.save()
    post(source, {"phone": "+79161234568", "org": "Org"})
    assert Lead.objects.get(phone="+79161234568").company_name == "Org"


def test_the_honeypot_answer_does_not_name_the_field(source):
    response = post(source, {"phone": "+79161234567", "fax": "I am a bot"})
    assert response.status_code == 400
    assert "fax" not in response.content.decode()
    assert set(response.json()) == {"detail"}
    assert not Lead.objects.exists()


def test_a_form_in_windows_1251_is_read_in_its_charset(source):
    body = "phone=%2B79161234567&name=%" + "%".join(f"{b:02X}" for b in "Анна".encode("cp1251"))
    response = raw_post(source, body, "application/x-www-form-urlencoded; charset=windows-1251")
    assert response.status_code == 201, response.content
    assert Lead.objects.get().name == "Анна"


def test_json_in_windows_1251_is_read_in_its_charset(source):
    raw = '{"phone": "+79161234567", "name": "Анна"}'.encode("cp1251")
    response = raw_post(source, raw, "application/json; charset=windows-1251")
    assert response.status_code == 201, response.content
    assert Lead.objects.get().name == "Анна"


@pytest.mark.parametrize("charset", ["hex", "rot13", "no-such-charset"])
def test_a_charset_that_is_no_text_encoding_is_a_4xx(source, charset):
    response = raw_post(
        source, b'{"phone": "+79161234567"}', f"application/json; charset={charset}"
    )
    assert response.status_code in (201, 415), response.content


def chunked_post(source, body: bytes, content_type="application/json"):
    """What gunicorn hands Django for Transfer-Encoding: chunked: no Content-Length, and a
    stream that ends by itself (wsgi.input_terminated)."""
    environ = {
        "CONTENT_LENGTH": "",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "HTTP_TRANSFER_ENCODING": "chunked",
    }
    return APIClient().generic(
        "POST", URL, b"", content_type=content_type, HTTP_X_INTAKE_KEY=source.intake_key, **environ
    )


def test_a_chunked_json_body_is_read(source):
    response = chunked_post(source, json.dumps({"phone": "+79161234567", "name": "Анна"}).encode())
    assert response.status_code == 201, response.content
    assert Lead.objects.get().name == "Анна"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZ"]
)
def test_a_chunked_form_body_is_read(source, content_type):
    body = b"phone=%2B79161234567&name=Anna"
    if content_type.startswith("multipart"):
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="phone"\r\n\r\n+79161234567\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnna\r\n--XyZ--\r\n'
        )
    response = chunked_post(source, body, content_type)
    assert response.status_code == 201, response.content
    assert Lead.objects.get().name == "Anna"


def test_a_chunked_body_over_the_limit_is_413(source, settings):
    body = json.dumps({"phone": "+79161234567", "message": "x" * settings.INTAKE_MAX_BODY_BYTES})
    response = chunked_post(source, body.encode())
    assert response.status_code == 413
    assert not Lead.objects.exists()


def test_the_schema_lists_every_field_the_intake_reads(source, world):
    from leads.intake import FIELDS

    client = APIClient()
    client.force_authenticate(world.qualifier)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["IntakeFields"]["properties"]
    assert set(FIELDS) <= set(fields)
    assert fields["company_name"]["maxLength"] == 200
    assert "multipart/form-data" in schema["paths"][URL]["post"]["requestBody"]["content"]


def test_the_new_answers_are_in_the_posters_language(source):
    nested = post(source, {"phone": "+79161234567", "name": {"a": 1}}, HTTP_ACCEPT_LANGUAGE="ru")
    assert nested.json() == {"name": ["Передайте это поле текстом, а не объектом."]}
    deep = raw_post(source, "[" * 30 + "]" * 30, HTTP_ACCEPT_LANGUAGE="ru")
    assert deep.json() == {"detail": "Вложенность JSON больше 20 уровней."}
