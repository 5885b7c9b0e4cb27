"""POST /api/v1/intake/ in the OpenAPI schema. The intake is a plain Django view (see
leads/intake_view.py), which drf-spectacular does not see, so its contract is written here
and added to the generated schema by a postprocessing hook."""

from leads.intake import FIELDS, MAX_JSON_DEPTH

_TEXT = {"type": "string"}
_DETAIL = {
    "type": "object",
    "properties": {"detail": _TEXT},
    "required": ["detail"],
}


def _answer(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


INTAKE_FIELDS = {
    "type": "object",
    "description": "The generic preset's fields (a phone or an e-mail is required). A source's "
    "preset or field map may read other names (Tilda, Yandex Forms, amoCRM, Bitrix24). Each "
    "field read is text; a JSON integer is taken as its digits, and a list of one value as "
    "that value. An object, true/false, a fraction, several different values (a JSON list or "
    "a repeated form field) or a lone UTF-16 surrogate in a field read is a 400 naming the "
    "field; other keys are kept as the lead's form answers. A phone or e-mail that is no "
    "valid one beside one that is is stored as typed (the lead's contact_problems), not refused; "
    "a phone may carry an extension (доб. 123, ext. 45). Form bodies may declare their charset "
    "(windows-1251); an undeclared one that is not UTF-8 is read as windows-1251 when it is "
    f"Russian text, else refused. JSON nested more than {MAX_JSON_DEPTH} levels deep is refused.",
    "properties": {
        **{field: {"type": "string", "maxLength": 200} for field in FIELDS},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "message": {"type": "string", "maxLength": 5000},
        "external_id": {"type": "string", "maxLength": 100},
        "phone2": {"type": "string", "maxLength": 200, "description": "another phone"},
        "phones": {
            "type": "array",
            "description": "several phones with their kinds; with `phone`, `phone` is the first",
            "items": {
                "type": "object",
                "properties": {
                    "number": {"type": "string", "maxLength": 200},
                    "kind": {"type": "string", "enum": ["mobile", "work", "home", "other"]},
                    "ext": {"type": "string", "maxLength": 20},
                },
                "required": ["number"],
            },
        },
        "emails": {
            "type": "array",
            "description": "several e-mails with their kinds",
            "items": {
                "type": "object",
                "properties": {
                    "address": {"type": "string", "maxLength": 254},
                    "kind": {"type": "string", "enum": ["mobile", "work", "home", "other"]},
                },
                "required": ["address"],
            },
        },
    },
    "additionalProperties": True,
}

INTAKE_ANSWER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "state": {"$ref": "#/components/schemas/LeadStateEnum"},
        "warn_at": {"type": "string", "format": "date-time"},
        "breach_at": {"type": "string", "format": "date-time"},
    },
    "required": ["id", "state", "warn_at", "breach_at"],
}

INTAKE_PATH = {
    "post": {
        "operationId": "intake_create",
        "summary": "Deliver a lead from a web form or an integration",
        "tags": ["intake"],
        "security": [],
        "parameters": [
            {"in": "header", "name": "X-Intake-Key", "schema": _TEXT, "required": False},
            {
                "in": "query",
                "name": "key",
                "schema": _TEXT,
                "required": False,
                "description": "The intake key, for builders that cannot set headers.",
            },
        ],
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/IntakeFields"}},
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/IntakeFields"}
                },
                "multipart/form-data": {"schema": {"$ref": "#/components/schemas/IntakeFields"}},
            },
        },
        "responses": {
            "201": _answer("Stored.", {"$ref": "#/components/schemas/IntakeAnswer"}),
            "200": _answer(
                "A repeat of the external_id: the stored lead.",
                {"$ref": "#/components/schemas/IntakeAnswer"},
            ),
            "400": _answer(
                "Field errors, by field (`{field: [messages]}`); or `{detail}` for a body that "
                "is not a JSON object or a form, malformed, nested too deeply, or a post the "
                "spam checks refused.",
                {"type": "object", "additionalProperties": True},
            ),
            "401": _answer("No intake key.", _DETAIL),
            "403": _answer("Unknown or disabled intake key.", _DETAIL),
            "413": _answer("Body too large (also a chunked one, counted as it arrives).", _DETAIL),
            "415": _answer("Not JSON or form-encoded, or a charset that is no text.", _DETAIL),
            "429": _answer("Too many posts from this address.", _DETAIL),
        },
    }
}


def add_intake(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the intake path and its two schemas. It runs after
    drf-spectacular's enum hook, which rebuilds the components and would drop these two (the
    schema once referenced them without defining them)."""
    result.setdefault("paths", {})["/api/v1/intake/"] = INTAKE_PATH
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["IntakeFields"] = INTAKE_FIELDS
    schemas["IntakeAnswer"] = INTAKE_ANSWER
    return result
