"""The lead list's page is written by `leads.api.lead_rows`, not by DRF's LeadSerializer field by
field: the answer must stay the same bytes — the same fields in the same order, the same
values and formats — for leads with several phones and e-mails, nulls, Russian text and odd
characters, in any time zone."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import mixins
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from leads import api, channels
from leads.api import (
    LeadSerializer,
    LeadViewSet,
    _points_of,
    _points_split,
    lead_rows,
    lead_values,
)
from leads.models import JunkReason, Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 11, 30, 21, 15, 7, tzinfo=UTC)


def _phone(typed: str, label: str, ext: str = "") -> channels.Point:
    return channels.phone_point(typed, label, ext)[0]


def _leads(world) -> list[Lead]:
    """Leads with every kind of value a row holds, newest first."""
    full = make_lead(
        world.team,
        now=MOMENT,
        name="Семён Петров-Водкин",
        company_name="ООО «Ромашка»",
        points=[
            _phone("+7 916 123-45-67", "mobile"),
            _phone("+7 495 123-45-67", "work", "5"),
            _phone("8 (903) 111-22-33", "home"),
            channels.email_point("Semyon@Example.RU", "work"),
            channels.email_point("s.petrov@mail.ru", "other"),
        ],
        utm_source="яндекс",
        utm_campaign='кухни "осень"',
    )
    only_email = make_lead(
        world.team, now=MOMENT - timedelta(hours=1), name="", phone="", email="a@example.com"
    )
    nothing = make_lead(world.team, now=MOMENT - timedelta(days=40), name="Без контактов", phone="")
    original = make_lead(world.team, now=MOMENT - timedelta(days=400), phone="+79031112233")
    make_lead(world.team, now=MOMENT - timedelta(days=3), name="Анна Петрова", phone="+79261114567")
    make_lead(world.other_team, now=MOMENT, name="Чужой лид")  # never in the qualifier's page
    Lead.objects.filter(pk=full.pk).update(
        state=Lead.State.JUNK,
        junk_reason=JunkReason.objects.first(),
        assignee=world.qualifier,
        duplicate_of=original,
        score=73,
        temperature=Lead.Temperature.HOT,
        message='Кухня 3 м\n"угловая"\t\u2028строка\u2029 🙂 \x01 </script>',
        first_attempt_at=MOMENT + timedelta(minutes=3, microseconds=123456),
        closed_at=MOMENT + timedelta(hours=2, microseconds=7),
        phone_ext="12",
        form_answers={"Тип кухни": "угловая", "n": 3, "вложено": {"a": [1, None, True, 2.5]}},
        contact_problems={"phone2": {"typed": "8 900", "problem": "too_short"}},
        imported_history=True,
        imported_status="Качественный лид",
    )
    Lead.objects.filter(pk=nothing.pk).update(state=Lead.State.CHECKED, score=0)
    return [full, only_email, nothing, original]  # and Анна Петрова, whose phone ends alike


def _serialized(leads: list[Lead]) -> list:
    """The page as DRF's LeadSerializer writes it (its leads as model objects, their source,
    junk reason and points read with them)."""
    objects = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    objects = objects.select_related("source", "junk_reason").prefetch_related("points")
    by_id = {lead.pk: lead for lead in objects}
    return LeadSerializer([by_id[lead.pk] for lead in leads], many=True).data


def _written(leads: list[Lead]) -> list[dict]:
    values = lead_values(Lead.objects.filter(pk__in=[lead.pk for lead in leads]))
    by_id = {row["id"]: row for row in values}
    return lead_rows([by_id[lead.pk] for lead in leads])


@pytest.mark.parametrize("zone", ["Europe/Moscow", "UTC", "Asia/Yekaterinburg", "America/Lima"])
def test_lead_rows_are_what_the_serializer_gives_byte_for_byte(world, zone):
    leads = _leads(world)
    with timezone.override(zone):
        expected, written = _serialized(leads), _written(leads)
    assert [list(row.items()) for row in written] == [list(row.items()) for row in expected]
    assert JSONRenderer().render(written) == JSONRenderer().render(expected)
    assert list(written[0]) == LeadSerializer.Meta.fields
    full = written[0]
    assert [p["kind"] for p in full["phones"]] == ["mobile", "work", "home"]
    assert full["emails"][0] == {"address": "semyon@example.ru", "kind": "work"}
    assert full["junk_reason"] is not None and written[1]["junk_reason"] is None
    if zone == "UTC":
        assert full["created_at"] == "2026-11-30T21:15:07Z"


def _drf_list(monkeypatch) -> None:
    """The list as it was written before lead_rows: DRF's ListModelMixin and LeadSerializer."""
    monkeypatch.setattr(LeadViewSet, "list", mixins.ListModelMixin.list)
    monkeypatch.setattr(
        api,
        "lead_values",
        lambda leads: leads.select_related("source", "junk_reason").prefetch_related("points"),
    )


def _pages(client: APIClient, params: dict) -> list:
    """Every page of the list with these parameters, following `next`."""
    answers, url = [], "/api/v1/leads/"
    while url:
        response = client.get(url, params)
        assert response.status_code == 200
        answers.append((response["Content-Type"], response.content))
        url, params = response.json()["next"], None
    return answers


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"page_size": 1},
        {"q": "петров", "page_size": 1},
        {"q": "4567", "page_size": 1},
        {"q": "a@example.com"},
        {"state": "junk"},
    ],
)
def test_the_list_answers_the_same_bytes_as_drfs_serializer(world, monkeypatch, params):
    _leads(world)
    world.team.time_zone = "Asia/Yekaterinburg"  # a logged-in page session shows the team's
    world.team.save()
    session = APIClient()
    session.force_login(world.qualifier)
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.head).key}")
    now = {client: _pages(client, params) for client in (session, token)}
    with monkeypatch.context() as patched:
        _drf_list(patched)
        before = {client: _pages(client, params) for client in (session, token)}
    assert now == before
    if params.get("page_size") == 1:  # the cursors too: more than one page, followed
        assert len(now[session]) > 1
    if not params:  # the session's page in its team's zone, the token's in the default one
        assert b"+05:00" in now[session][0][1] and b"+03:00" in now[token][0][1]


def test_a_page_reads_the_same_queries_however_many_leads_and_phones(world):
    client = APIClient()
    client.force_authenticate(world.qualifier)
    make_lead(world.team, phone="")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/leads/").json()["results"]) == 1
    _leads(world)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/leads/").json()["results"]) == 6
    # the user's teams and the page, with its phones and e-mails (SQLite: in a read of its own)
    assert len(many) == len(one) == (2 if connection.vendor == "postgresql" else 3)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the page's points aggregated")
def test_the_points_read_with_the_page_are_the_points_read_alone(world):
    leads = _leads(world)
    with_page = {row["id"]: row["all_points"] for row in lead_values(Lead.objects.all())}
    assert with_page[leads[2].pk] is None  # a lead without phones or e-mails
    alone = _points_of([lead.pk for lead in Lead.objects.all()])
    assert {k: _points_split(v or ()) for k, v in with_page.items() if v} == alone
    assert len(alone[leads[0].pk][0]) == 3 and len(alone[leads[0].pk][1]) == 2
