"""Property-based fuzzing (hypothesis) of what arrives from outside: the public intake and the
report parameters. Whatever the body, content type, charset or query, the answer is one of the
documented statuses, never a server error; and a 2xx intake stores exactly what was sent.

Bounded for CI: derandomized (the same examples every run), no example database, a few dozen
examples per test, no deadline (a shared CI machine is slow at times) — seconds in all."""

import json
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from leads.intake import FIELDS
from leads.models import Lead, LeadSource
from leads.selectors import forget_intake_sources

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INTAKE_STATUSES = {200, 201, 400, 401, 403, 413, 415}

# Text as forms and integrations send it, lone UTF-16 surrogates (JSON's "\ud800") included.
TEXT = st.text(max_size=30) | st.text(
    st.characters(categories=["Cs", "Lu", "Nd", "Zs", "Cc"]), max_size=5
)
PHONES = st.sampled_from(["+79161234567", "8 (916) 123-45-67", "12345", "", "+7 916"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [*FIELDS, "fax", "params", "Name", "Phone", "Company", "COOKIES", "tranid", "test"]
) | st.text(max_size=8)
# Mostly our fields, so that the fuzzing reaches the lead and its storage.
JSON_BODIES = (
    st.dictionaries(KEYS, JSON_VALUES | TEXT | PHONES, max_size=6).map(
        lambda body: {"phone": "+79161234567", **body}
    )
    | JSON_VALUES
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=windows-1251",
        "application/json; charset=utf-16",
        "application/json; charset=hex",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=windows-1251",
        "application/x-www-form-urlencoded; charset=rot13",
        "multipart/form-data; boundary=XyZ",
        "multipart/form-data",
        "text/plain",
        "",
    ]
) | st.text(st.characters(max_codepoint=255, exclude_categories=["Cc"]), max_size=40)
LATIN1 = st.text(st.characters(max_codepoint=255, exclude_categories=["Cc"]), max_size=20)


@pytest.fixture
def source(world) -> LeadSource:
    source = LeadSource.objects.get()
    source.team = world.team
    source.save()
    return source


def _use_preset(source: LeadSource, preset: str) -> None:
    source.preset = preset
    source.save()
    forget_intake_sources()
    cache.clear()  # the rate limit


def _post(source: LeadSource, body: bytes, content_type: str, **headers):
    return _raw_post(body, content_type, HTTP_X_INTAKE_KEY=source.intake_key, **headers)


def _raw_post(body: bytes, content_type: str, **headers):
    # generic(), not post(): post() re-encodes a body whose content type names a charset.
    return Client().generic("POST", URL, body, content_type=content_type, **headers)


def _assert_documented(response) -> None:
    event(f"status {response.status_code}")  # --hypothesis-show-statistics shows the mix
    assert response.status_code in INTAKE_STATUSES, response.content[:500]
    if response.content != b"ok":  # Tilda's ping
        assert isinstance(response.json(), dict)


@FUZZ
@given(
    body=JSON_BODIES,
    preset=st.sampled_from(LeadSource.Preset.values),
    ascii_only=st.booleans(),
)
def test_any_json_body_gets_a_documented_answer(source, body, preset, ascii_only):
    _use_preset(source, preset)
    raw = json.dumps(body, ensure_ascii=ascii_only or _has_surrogate(body))
    response = _post(source, raw.encode("utf-8", "surrogatepass"), "application/json")
    _assert_documented(response)
    if response.status_code in (200, 201) and preset == LeadSource.Preset.GENERIC:
        _assert_stored_as_sent(Lead.objects.get(pk=response.json()["id"]), body)
    Lead.objects.all().delete()  # the next example starts with no duplicates


def _has_surrogate(value: object) -> bool:
    return "\\ud" in json.dumps(value).lower()


def _assert_stored_as_sent(lead: Lead, body: dict) -> None:
    """A 2xx never drops or mangles a field: each text field read holds the text sent."""
    for field in FIELDS:
        sent = body.get(field)
        if field in ("phone", "email", "phone2", "phones", "emails") or sent is None:
            continue  # phones and e-mails are normalised into the lead's points
        assert isinstance(sent, str | int) or (isinstance(sent, list) and len(sent) <= 1)
        if isinstance(sent, str):
            expected = " ".join(sent.split()) if field == "name" else sent.strip()
            assert getattr(lead, field) == expected


@FUZZ
@given(depth=st.integers(1, 40_000), bracket=st.sampled_from(["[]", '{"a":}']))
def test_any_nesting_gets_a_documented_answer(source, depth, bracket):
    opening, closing = (bracket[0], bracket[1]) if bracket == "[]" else ('{"a":', "}")
    raw = opening * depth + "1" + closing * depth
    response = _post(source, raw.encode(), "application/json")
    _assert_documented(response)
    assert response.status_code in (400, 413)


@FUZZ
@given(
    fields=st.dictionaries(KEYS, TEXT | PHONES, max_size=6).map(
        lambda fields: {"phone": "+79161234567", **fields}
    ),
    charset=st.sampled_from(["utf-8", "windows-1251", "koi8-r", "latin-1"]),
    preset=st.sampled_from(LeadSource.Preset.values),
    raw=st.binary(max_size=200),
    use_raw=st.booleans(),
)
def test_any_form_body_gets_a_documented_answer(source, fields, charset, preset, raw, use_raw):
    _use_preset(source, preset)
    fields = {k: v for k, v in fields.items() if not _has_surrogate(k + v)}
    body = raw if use_raw else urlencode(fields, encoding=charset, errors="replace").encode()
    content_type = f"application/x-www-form-urlencoded; charset={charset}"
    _assert_documented(_post(source, body, content_type))
    Lead.objects.all().delete()


@FUZZ
@given(
    body=st.binary(max_size=300) | JSON_BODIES.map(lambda b: json.dumps(b).encode()),
    content_type=CONTENT_TYPES,
    key=st.one_of(st.just("the source's"), st.just("the source's"), st.none(), LATIN1),
    origin=LATIN1,
    language=LATIN1,
)
def test_any_content_type_and_headers_get_a_documented_answer(
    source, body, content_type, key, origin, language
):
    cache.clear()
    headers = {"HTTP_ORIGIN": origin, "HTTP_ACCEPT_LANGUAGE": language}
    if key is not None:
        headers["HTTP_X_INTAKE_KEY"] = source.intake_key if key == "the source's" else key
    response = _raw_post(body, content_type, **headers)
    event(f"status {response.status_code}")
    assert response.status_code in INTAKE_STATUSES
    Lead.objects.all().delete()


# Report parameters: dates of any kind, the CSV switch, and names the views do not read.
EDGES = st.sampled_from(
    ["0001-01-01", "9999-12-31", "1999-12-31", "2100-12-31", "2026-02-30", "2026-11-02", ""]
)
DATES = st.one_of(EDGES, EDGES, st.dates().map(str), st.text(max_size=12))
QUERIES = st.fixed_dictionaries(
    {},
    optional={
        "from": DATES,
        "to": DATES,
        "date_from": DATES,
        "date_to": DATES,
        "format": st.sampled_from(["csv", "json", "xml", "api", ""]) | st.text(max_size=5),
        "team": st.text(max_size=5) | st.integers().map(str),
    },
)


@pytest.fixture
def head_client(world) -> Client:
    client = Client()
    client.force_login(world.head)
    return client


@FUZZ
@given(query=QUERIES)
def test_the_report_api_answers_any_period_with_a_documented_status(head_client, query):
    response = head_client.get("/api/v1/reports/teams/", query)
    event(f"status {response.status_code}")
    assert response.status_code in (200, 400, 404), response.content[:500]
    if response.status_code == 400:
        assert response["Content-Type"].startswith("application/json")
        assert response.json()


@settings(FUZZ, max_examples=50)
@given(
    query=QUERIES,
    route=st.sampled_from(
        ["reports:teams", "reports:person", "reports:leaderboard", "reports:insights"]
    ),
)
def test_the_report_pages_answer_any_period_with_a_documented_status(
    head_client, world, query, route
):
    url = reverse(route, args=[world.qualifier.pk] if route == "reports:person" else [])
    response = head_client.get(url, query)
    event(f"status {response.status_code}")
    assert response.status_code in (200, 400), response.content[:500]


# The API's actions read JSON through crm.api.JSONParser: any body, surrogates and nesting
# included, is answered without a server error.
API_BODIES = (
    st.dictionaries(
        st.sampled_from(["outcome", "note", "callback_at", "criterion", "value", "reason"]) | TEXT,
        JSON_VALUES | st.sampled_from(["no_answer", "callback", "budget", "spam"]),
        max_size=4,
    )
    | JSON_VALUES
)


@FUZZ
@given(body=API_BODIES, action=st.sampled_from(["attempts", "answers", "junk"]))
def test_any_json_body_to_the_api_gets_a_documented_answer(world, body, action):
    from rest_framework.test import APIClient

    from tests.factories import make_lead

    lead = Lead.objects.filter(team=world.team).first() or make_lead(world.team)
    client = APIClient()
    client.force_authenticate(world.qualifier)
    raw = json.dumps(body, ensure_ascii=_has_surrogate(body))
    response = client.generic(
        "POST",
        f"/api/v1/leads/{lead.pk}/{action}/",
        raw.encode("utf-8", "surrogatepass"),
        content_type="application/json",
    )
    event(f"status {response.status_code}")
    assert response.status_code in (200, 201, 400, 409), response.content[:500]
    assert isinstance(response.json(), dict)
