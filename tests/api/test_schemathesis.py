"""Fuzz every operation of the REST API from its own OpenAPI schema (schemathesis), in-process
over WSGI, as a qualifier with a token: no request may end in a server error, and every
response must match the schema.

Bounded for CI: a fixed seed, MAX_EXAMPLES generated examples per operation plus schemathesis'
boundary ("coverage") cases, no shrinking and no example database, so a run is the same every
time and takes well under a minute."""

import json

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from leads import services
from leads.models import Criterion, Lead
from tests.factories import SourceFactory, make_criterion, make_lead

SEED = 20240601
MAX_EXAMPLES = 20
INTAKE = "/api/v1/intake/"
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]

# Loading the schema needs no database (and, served, a login): drf-spectacular builds it
# from the code, as /api/v1/schema/ does.
SCHEMA = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True))),
    config=schemathesis.Config(seed=SEED),
)
SCHEMA.app = get_wsgi_application()
SCHEMA.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=True, no_shrink=True, database="none"
)


@pytest.fixture
def wsgi_keeps_test_connection():
    """The WSGI handler closes the database connection around each request, and with it the
    test's transaction; Django's test client detaches the same signal handlers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(world, wsgi_keeps_test_connection) -> dict:
    """Ids for the fuzzer to hit: leads in several states, one of another team; criteria of
    every kind; a source with an intake key; the qualifier's API token."""
    make_criterion()
    make_criterion("budget", kind=Criterion.Kind.NUMBER, min_value=100, max_value=10_000)
    make_criterion("own-flat", kind=Criterion.Kind.YES_NO, weight=2)
    make_criterion("notes", kind=Criterion.Kind.TEXT, required=False, knock_out=False)
    fresh = make_lead(world.team, name="Новый Лид")
    reached = make_lead(world.team, phone="+79161234568")
    services.lead_attempt_log(lead=reached, by=world.qualifier, outcome="reached")
    checked = make_lead(world.team, phone="+79161234569", email="buyer@example.com")
    services.lead_attempt_log(lead=checked, by=world.qualifier, outcome="reached")
    for slug, value in [("kitchen-type", "custom"), ("budget", "5000"), ("own-flat", "yes")]:
        criterion = Criterion.objects.get(slug=slug)
        services.lead_answer(lead=checked, by=world.qualifier, criterion=criterion, value=value)
    services.lead_check(lead=Lead.objects.get(pk=checked.pk), by=world.qualifier)
    held = make_lead(world.team, phone="+79161234570")  # a teammate is working it
    services.lead_attempt_log(lead=held, by=world.teammate, outcome="reached")
    foreign = make_lead(world.other_team, phone="+79161234571")
    source = SourceFactory()
    source.team = world.team
    source.save()
    return {
        "lead_ids": [fresh.pk, reached.pk, checked.pk, held.pk, foreign.pk],
        "body": {  # what a valid body names, per field
            "criterion": list(Criterion.objects.values_list("slug", flat=True)),
            "reason": ["spam"],
            "closer": [world.closer.pk],
            "sales_team": [world.sales.pk],
        },
        "intake_key": source.intake_key,
        "token": Token.objects.create(user=world.qualifier).key,
    }


def _aim_at_seeded_leads(case, lead_ids: list[int]) -> None:
    """A generated id is almost never a lead: turn most integer ids into seeded ones, keeping
    one in len + 1 as generated (a missing lead), and ids that are no integer (negative cases).
    The boundary phase sends its ids already as text ("0"), the fuzzing phase as numbers."""
    value = (case.path_parameters or {}).get("id")
    if not case.path.startswith("/api/v1/leads/{id}/") or type(value) not in (int, str):
        return
    try:
        number = int(value)
    except ValueError:
        return
    slot = number % (len(lead_ids) + 1)
    if slot < len(lead_ids):
        case.path_parameters["id"] = type(value)(lead_ids[slot])


def _aim_at_seeded_references(case, references: dict[str, list]) -> None:
    """Likewise, in valid bodies, turn most generated criteria, reasons, closers and sales
    teams into existing ones, so that the fuzzing gets past the lookups."""
    if not isinstance(case.body, dict) or case.meta is None:
        return
    if case.meta.generation.mode != schemathesis.GenerationMode.POSITIVE:
        return
    for field, existing in references.items():
        value = case.body.get(field)
        if type(value) in (int, str):
            slot = len(str(value)) % (len(existing) + 1)
            if slot < len(existing):
                case.body[field] = existing[slot]


@SCHEMA.parametrize()
# The seeded data is per test, not per example; each example runs in a rolled-back savepoint.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_answers_any_request_without_a_server_error(case, seeded):
    cache.clear()  # the intake's rate limit counts in the cache
    _aim_at_seeded_leads(case, seeded["lead_ids"])
    _aim_at_seeded_references(case, seeded["body"])
    headers = {"Authorization": f"Token {seeded['token']}"}
    if case.path == INTAKE:
        headers["X-Intake-Key"] = seeded["intake_key"]
    # Each example starts from the seeded data: a lead junked by one stays open for the next.
    with transaction.atomic():
        case.call_and_validate(headers=headers, checks=CHECKS)
        transaction.set_rollback(True)


def test_lead_schema_admits_blank_email_and_no_junk_reason(seeded):
    case = SCHEMA["/api/v1/leads/{id}/"]["GET"].Case(path_parameters={"id": seeded["lead_ids"][0]})
    case.call_and_validate(
        headers={"Authorization": f"Token {seeded['token']}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


def test_dispute_schema_admits_the_blank_outcome_of_an_open_dispute(
    world, wsgi_keeps_test_connection
):
    from deals.services import deal_accept
    from handoff.disputes import dispute_raise
    from tests.factories import make_deal

    criterion = make_criterion(required=False)
    deal = make_deal(world, answers={criterion: "custom"})
    deal_accept(deal=deal, by=world.closer)
    dispute = dispute_raise(deal=deal, by=world.closer, criterion=criterion, claim="wrong")
    assert dispute.outcome == ""
    token = Token.objects.create(user=world.head).key
    for path, parameters in [
        ("/api/v1/disputes/{id}/", {"id": dispute.pk}),
        ("/api/v1/deals/{id}/", {"id": deal.pk}),
    ]:
        case = SCHEMA[path]["GET"].Case(path_parameters=parameters)
        case.call_and_validate(
            headers={"Authorization": f"Token {token}"},
            checks=[not_a_server_error, response_schema_conformance],
        )
