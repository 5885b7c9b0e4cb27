"""The OpenAPI schema integrators download is a valid OpenAPI 3.0 document, and every enum in it
says what each of its values means. Built as /api/v1/schema/ builds it (the served one needs a
login), so CI fails on a schema an integrator's code generator would reject."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.api_schema import MEANINGS


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_every_referenced_component_exists(schema):
    # The intake's IntakeFields and IntakeAnswer were once referenced but dropped by the
    # enum hook that ran after the intake hook.
    components = schema["components"]["schemas"]
    missing = {
        ref for ref in _refs(schema) if ref.removeprefix("#/components/schemas/") not in components
    }
    assert not missing


def test_schema_is_valid_openapi(schema):
    validate(schema)  # raises, naming the first error, when the document is not valid


def _enum_components(schema: dict) -> dict[str, list]:
    return {
        name: component["enum"]
        for name, component in schema["components"]["schemas"].items()
        if "enum" in component
    }


def test_every_enum_value_has_a_meaning(schema):
    enums = _enum_components(schema)
    assert {"LeadStateEnum", "DealStageEnum", "AttemptOutcomeEnum", "DisputeOutcomeEnum"} <= set(
        enums
    )
    for name, values in enums.items():
        assert set(MEANINGS.get(name, {})) == set(values), name
        for value in values:
            assert f"`{value}` — " in schema["components"]["schemas"][name]["description"] or (
                value == ""
            )


def test_call_outcomes_are_described_in_the_schema(schema):
    description = schema["components"]["schemas"]["AttemptOutcomeEnum"]["description"]
    for value in ("reached", "no_answer", "busy", "wrong_number", "callback"):
        assert f"* `{value}` — " in description


def test_filter_parameters_describe_their_values(schema):
    parameters = schema["paths"]["/api/v1/leads/"]["get"]["parameters"]
    state = next(parameter for parameter in parameters if parameter["name"] == "state")
    assert "`junk` — " in state["description"]


def test_intake_answer_names_the_lead_state_enum(schema):
    answer = schema["components"]["schemas"]["IntakeAnswer"]
    assert answer["properties"]["state"] == {"$ref": "#/components/schemas/LeadStateEnum"}


@pytest.mark.django_db
def test_the_served_schema_is_the_validated_one(world, schema):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.qualifier)}")
    served = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate(served)
    assert served["components"]["schemas"].keys() == schema["components"]["schemas"].keys()
