"""Reading a web form's post as a lead: each website builder names fields its own way, so a
preset turns its payload into our fields, and a source's field map can override any of them.

Pure functions over a flat {key: value} payload; the view does HTTP, the service stores."""

import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote, unquote_to_bytes

from django.utils.translation import gettext as _

from crm.lib import json_input
from leads import channels
from leads.models import LeadSource

FIELDS = (
    "name",
    "phone",
    "email",
    "company_name",
    "message",
    "external_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "phone2",
    "phones",
    "emails",
)
# Keys of a form post that are the builder's bookkeeping, not a question to the visitor.
TECHNICAL_KEYS = frozenset(
    {"formid", "formname", "tranid", "COOKIES", "form-spec-comments", "jsonrpc", "method", "id"}
)

Payload = Mapping[str, str]
# JSON nested deeper than this is refused: no form or webhook we read comes near it, and a
# bound keeps a hostile body from exhausting the parser's stack (the API's rule too).
MAX_JSON_DEPTH = json_input.MAX_DEPTH


class NotText(str):
    """Stands in the flat payload for a value no text field can hold unchanged: a JSON object,
    a true/false, a fraction, or a list (or a form field repeated) with different values. It
    is not an error by itself — only if a field we read holds one (`clean_fields`)."""

    problem: str

    def __new__(cls, problem: str) -> "NotText":
        marker = super().__new__(cls, "\ufffd")  # never empty: the presets test truthiness
        marker.problem = problem
        return marker


class Several(str):
    """Stands in the flat payload for the API's lists `phones: [{number, kind, ext}]` and
    `emails: [{address, kind}]` (or plain strings): `items` holds (typed, kind, ext) each."""

    items: list[tuple[str, str, str]]

    def __new__(cls, items: list[tuple[str, str, str]]) -> "Several":
        several = super().__new__(cls, "\n".join(typed for typed, _kind, _ext in items))
        several.items = items
        return several


SEVERAL_KEYS = {"phones": "number", "emails": "address"}


def _several(key: str, value: list) -> "Several | NotText":
    """A JSON list of phones or e-mails, each an object ({number|address, kind, ext}) or text."""
    items = []
    for item in value:
        if isinstance(item, str | int) and not isinstance(item, bool):
            items.append((str(item), "", ""))
            continue
        texts = item.values() if isinstance(item, dict) else ()
        text_only = all(isinstance(v, str | int) and not isinstance(v, bool) for v in texts)
        if not isinstance(item, dict) or not text_only:
            return NotText(
                _("Send a list of objects with %(key)s, kind and ext as text.")
                % {"key": SEVERAL_KEYS[key]}
            )
        typed = str(item.get(SEVERAL_KEYS[key], ""))
        items.append((typed, str(item.get("kind", "")), str(item.get("ext", ""))))
    return Several(items)


def _generic(payload: Payload) -> dict[str, str]:
    return {field: payload.get(field, "") for field in FIELDS}


# Where a Tilda form's free text may be; the first one filled is the message, others are kept.
TILDA_MESSAGE_KEYS = ("Comments", "Comment", "Message", "Textarea")


def _tilda(payload: Payload) -> dict[str, str]:
    """Tilda posts form-encoded Name / Phone / Email, its submission id as `tranid`, and the
    UTM tags either as hidden fields or inside the TILDAUTM cookie ("k=v|||k=v")."""
    lead = _generic(payload)
    lead["name"] = payload.get("Name", "") or payload.get("name", "")
    lead["phone"] = payload.get("Phone", "") or payload.get("phone", "")
    lead["email"] = payload.get("Email", "") or payload.get("email", "")
    lead["company_name"] = payload.get("Company", "") or lead["company_name"]
    lead["message"] = next(
        (payload[k] for k in TILDA_MESSAGE_KEYS if payload.get(k)),
        lead["message"],
    )
    # A form with a second phone or e-mail field: Tilda names a repeated field Phone_2 ….
    more: dict[str, list[str]] = {"phone2": [], "email": []}
    for key in sorted(payload):
        found = TILDA_MORE.fullmatch(key)
        if found and payload[key] and not isinstance(payload[key], NotText):
            more["phone2" if found[1] == "Phone" else "email"].append(payload[key])
    for field_name, values in more.items():
        lead[field_name] = "\n".join(filter(None, (lead[field_name], *values)))
    lead["external_id"] = payload.get("tranid", "")
    cookies = payload.get("COOKIES", "")
    cookie_utm = {} if isinstance(cookies, NotText) else _tilda_utm(cookies)
    for tag in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
        lead[tag] = lead[tag] or cookie_utm.get(tag, "")
    return lead


TILDA_MORE = re.compile(r"(Phone|Email)_?\d+")
# The keys the Tilda preset reads itself; any other key is one of the form's own questions.
TILDA_KEYS = frozenset(
    {"Name", "Phone", "Email", "Company", "Comments", "Comment", "Message", "Textarea"}
)


def _tilda_utm(cookies: str) -> dict[str, str]:
    for cookie in cookies.split(";"):
        name, _sep, value = cookie.strip().partition("=")
        if name == "TILDAUTM":
            pairs = (p.partition("=") for p in unquote(value).split("|||") if "=" in p)
            return {key: val for key, _eq, val in pairs}
    return {}


def _yandex_forms(payload: Payload) -> dict[str, str]:
    """Yandex Forms sends the JSON its owner writes (our field names, see the README), either
    as the body or as JSON-RPC `params`; the view flattens `params.*` keys for us."""
    return {field: payload.get(field, "") or payload.get(f"params.{field}", "") for field in FIELDS}


def _amocrm(payload: Payload) -> dict[str, str]:
    """amoCRM's contact webhook: contacts[add][0][name] and custom fields coded PHONE / EMAIL."""
    prefix = _amocrm_prefix(payload)
    if prefix is None:
        return _generic(payload)
    lead = _generic({})
    lead["name"] = payload.get(f"{prefix}[name]", "")
    contact_id = payload.get(f"{prefix}[id]", "")
    lead["external_id"] = contact_id and (
        contact_id if isinstance(contact_id, NotText) else f"contact:{contact_id}"
    )
    phones: list[tuple[str, str, str]] = []
    emails: list[tuple[str, str, str]] = []
    for code, _name, values in _amocrm_custom_fields(payload, prefix):
        if code == "PHONE":
            phones += [(v, kind, "") for v, kind in values if v]
        elif code == "EMAIL":
            emails += [(v, kind, "") for v, kind in values if v]
    # Every value of the contact's PHONE and EMAIL fields, each with its enum (WORK, MOB, …)
    lead["phones"] = Several(phones) if phones else ""
    lead["emails"] = Several(emails) if emails else ""
    return lead


def _amocrm_custom_fields(
    payload: Payload, prefix: str
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Each custom field of the contact as (code, name, [(value, enum)]). amoCRM numbers them
    from 0, and only its system fields (PHONE, EMAIL, POSITION) carry a `code`: a field of the
    account's own has an id and a name only, and must not end the walk."""
    fields = []
    index = 0
    while f"{prefix}[custom_fields][{index}][id]" in payload or (
        f"{prefix}[custom_fields][{index}][code]" in payload
        or f"{prefix}[custom_fields][{index}][name]" in payload
    ):
        field = f"{prefix}[custom_fields][{index}]"
        values: list[tuple[str, str]] = []
        while f"{field}[values][{len(values)}][value]" in payload:
            value = payload[f"{field}[values][{len(values)}][value]"]
            enum = payload.get(f"{field}[values][{len(values)}][enum]", "")
            values.append(
                (
                    "" if isinstance(value, NotText) else str(value).strip(),
                    "" if isinstance(enum, NotText) else str(enum),
                )
            )
        code = payload.get(f"{field}[code]", "")
        name = payload.get(f"{field}[name]", "")
        fields.append((code if isinstance(code, str) else "", str(name), values))
        index += 1
    return fields


def _amocrm_prefix(payload: Payload) -> str | None:
    for prefix in (
        "contacts[add][0]",
        "contacts[update][0]",
        "unsorted[add][0][data][contacts][0]",
    ):
        if f"{prefix}[id]" in payload or f"{prefix}[name]" in payload:
            return prefix
    return None


PRESETS: dict[str, Callable[[Payload], dict[str, str]]] = {
    LeadSource.Preset.GENERIC: _generic,
    LeadSource.Preset.TILDA: _tilda,
    LeadSource.Preset.YANDEX_FORMS: _yandex_forms,
    LeadSource.Preset.AMOCRM: _amocrm,
}


def map_payload(source: LeadSource, payload: Payload) -> dict[str, str]:
    lead = PRESETS[source.preset](payload)
    for field, their_key in (source.field_map or {}).items():
        if field in FIELDS and isinstance(their_key, str):
            lead[field] = payload.get(their_key, "")
    return {
        field: value if isinstance(value, NotText | Several) else str(value).strip()
        for field, value in lead.items()
    }


def form_answers(source: LeadSource, payload: Payload) -> dict[str, str]:
    """The form's own questions and their answers, as sent: every key the source's preset and
    field map did not read (a kitchen's type, a budget, a city). Kept on the lead, so that no
    answer a visitor gave is lost; amoCRM's are the contact's custom fields without a code."""
    if source.preset == LeadSource.Preset.AMOCRM:
        prefix = _amocrm_prefix(payload)
        if prefix is not None:
            fields = [
                (name, [value for value, _enum in values])
                for code, name, values in _amocrm_custom_fields(payload, prefix)
                if not code
            ]
            return {
                name: ", ".join(filter(None, values))
                for name, values in fields
                if name and any(values) and _storable(name) and all(_storable(v) for v in values)
            }
    read = {*FIELDS, *TECHNICAL_KEYS, source.honeypot_field}
    read.update(key for key in (source.field_map or {}).values() if isinstance(key, str))
    if source.preset == LeadSource.Preset.TILDA:
        read |= TILDA_KEYS - set(TILDA_MESSAGE_KEYS)
        read |= {key for key in payload if TILDA_MORE.fullmatch(key)}
        read.add(next((k for k in TILDA_MESSAGE_KEYS if payload.get(k)), ""))
    return {
        key.removeprefix("params."): value
        for key, value in payload.items()
        if key not in read
        and key.removeprefix("params.") not in read
        and value
        and not isinstance(value, NotText)
        and _storable(key)
        and _storable(value)
    }


def _storable(text: str) -> bool:
    """Whether PostgreSQL's jsonb can hold the text: not a NUL nor a lone surrogate, which no
    person's answer holds (a bot's key or value is left out rather than refusing the lead)."""
    return "\x00" not in text and (text.isascii() or not _has_lone_surrogate(text))


def is_builder_ping(source: LeadSource, payload: Payload) -> bool:
    """Tilda checks a new webhook URL by posting test=test; it must not become a lead."""
    return source.preset == LeadSource.Preset.TILDA and dict(payload) == {"test": "test"}


MAX_LENGTHS = {
    "name": 200,
    "company_name": 200,
    "email": 254,
    "message": 5000,
    "external_id": 100,
    "utm_source": 200,
    "utm_medium": 200,
    "utm_campaign": 200,
    "utm_content": 200,
    "utm_term": 200,
}
# The fields a person can be reached by (each may hold several values): one usable value is
# enough to keep the lead.
PHONE_FIELDS = ("phone", "phone2", "phones")
EMAIL_FIELDS = ("email", "emails")
CHANNELS = (*PHONE_FIELDS, *EMAIL_FIELDS)


def clean_fields(
    values: Mapping[str, str], *, forgive_contacts: bool = False
) -> tuple[dict, dict[str, list[str]]]:
    """Validate and normalise an arriving lead's fields, however it arrived (web form, API, CSV
    row): (clean fields, errors by field). Plain code, not a Form: a 100,000-row import runs it
    100,000 times. Every phone and e-mail given becomes one of `points` (`leads.channels`):
    `phone`/`phone2` may hold several numbers on separate lines, `email` several addresses, and
    `phones`/`emails` the API's lists; `phone`, `phone_ext` and `email` are the first ones.

    With `forgive_contacts` (a web form: its visitor is gone and cannot retype), a phone or an
    e-mail that is no valid one does not refuse the lead when another channel works: it is
    kept as typed in `contact_problems` for the qualifier. With no channel at all, it is the
    field errors still."""
    data: dict = {f: str(values.get(f) or "").strip() for f in (*MAX_LENGTHS, *CHANNELS)}
    errors: dict[str, list[str]] = {}
    for field_name, value in data.items():
        if isinstance(marker := values.get(field_name), NotText):
            errors[field_name] = [marker.problem]
        elif "\x00" in value:
            errors[field_name] = [_("Null characters are not allowed.")]
        elif not value.isascii() and _has_lone_surrogate(value):
            # No UTF-8 text can hold it (JSON's "\ud800" escape); the database would refuse.
            errors[field_name] = [_("The text holds an invalid character (a lone surrogate).")]
    for field_name, limit in MAX_LENGTHS.items():
        if len(data[field_name]) > limit and field_name not in errors:
            errors[field_name] = [_("At most %(limit)d characters.") % {"limit": limit}]
    phones, emails = [], []
    for field_name in CHANNELS:
        if field_name in errors or not data[field_name]:
            continue
        given = values.get(field_name)
        if isinstance(given, Several):
            items = given.items
        elif field_name in PHONE_FIELDS:
            items = [(typed, "", "") for typed in channels.split_phones(data[field_name])]
        else:
            items = [(typed, "", "") for typed in channels.split_emails(data[field_name])]
        if field_name in PHONE_FIELDS:
            phones += [(field_name, typed, kind, ext) for typed, kind, ext in items]
        else:
            emails += [(field_name, typed, kind) for typed, kind, _ext in items]
    points, notes, point_errors, problems = channels.clean_points(phones, emails)
    errors.update(point_errors)
    if notes:  # "Иван, после 18:00" typed in the phone box
        data["message"] = "\n".join(filter(None, (data["message"], *notes)))
    data["contact_problems"] = {}
    if forgive_contacts and points and set(errors) <= set(problems):
        data["contact_problems"], errors = problems, {}
    if not points and not errors:
        errors["non_field_errors"] = [_("A phone or an e-mail is required.")]
    for field_name in CHANNELS:
        del data[field_name]
    data.update(lead_contacts(points))
    data["name"] = channels.normalise_name(data["name"])
    return data, errors


def lead_contacts(points: list[channels.Point]) -> dict:
    """The lead's columns for its points: the primary phone (and its extension) and e-mail."""
    phone = channels.primary(points, channels.PHONE)
    email = channels.primary(points, channels.EMAIL)
    return {
        "phone": phone.value if phone else "",
        "phone_ext": phone.ext if phone else "",
        "email": email.value if email else "",
        "points": points,
    }


def _has_lone_surrogate(value: str) -> bool:
    return json_input.has_lone_surrogate(value)


def flat_payload(data: Mapping) -> dict[str, str]:
    """A flat {key: text} view of a JSON or form body; JSON-RPC `params` become `params.*`.
    A value no text can hold unchanged becomes a NotText, refused if a field we read holds it."""
    flat: dict[str, str] = {}
    items = data.lists() if hasattr(data, "lists") else data.items()
    for key, value in items:
        if key in SEVERAL_KEYS and isinstance(value, list):
            flat[key] = _several(key, value)
        elif isinstance(value, dict):
            flat[str(key)] = NotText(_("Send this field as text, not as an object."))
            flat.update({f"{key}.{k}": _text(v) for k, v in value.items()})
        else:
            flat[str(key)] = _text(value)
    return flat


# What Windows-1251 text of a Russian form holds beyond ASCII: letters and the typographer's
# marks. Bytes that decode to anything else (C1 controls, Serbian or Ukrainian letters in a
# Russian form are rare but kept) mean the body is in neither charset.
_CP1251_TEXT = re.compile(
    r"[\t\n\r\x20-\x7e\u0400-\u045f\u00a0\u00ab\u00bb\u00b0\u00b1\u00a7"
    r"\u00a9\u00ae\u00b5\u00b6\u00b7\u2013\u2014\u2018\u2019\u201a"
    r"\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a"
    r"\u20ac\u2116\u2122\u0490\u0491]*"
)


def form_charset(body: bytes) -> str | None:
    """The charset of a form-encoded body that does not declare one: UTF-8 when its bytes are
    UTF-8, else Windows-1251 when they read as Russian text in it; None when neither."""
    raw = unquote_to_bytes(body.replace(b"+", b" "))
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError:
        return None
    return "windows-1251" if reads_as_russian(text) else None


def reads_as_russian(text: str) -> bool:
    """Whether text decoded as Windows-1251 holds only what Russian text does."""
    return _CP1251_TEXT.fullmatch(text) is not None


def _text(value: object) -> str:
    """A JSON or form value as the text it stands for; a NotText when there is none."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a phone or an id sent as a JSON number, exactly as sent
    if isinstance(value, list):  # a form's repeated field, or a JSON array
        if len(value) == 1 and isinstance(value[0], str):
            return value[0]
        texts = [_text(v) for v in value]
        odd = next((t for t in texts if isinstance(t, NotText)), None)
        given = set(filter(None, texts))
        if odd is None and len(given) > 1:
            return NotText(_("Send one value for this field, not several."))
        return odd or next(iter(given), "")
    if isinstance(value, dict):
        return NotText(_("Send this field as text, not as an object."))
    # true / false, and fractions (which JSON would write back differently: 1e5 is 100000.0)
    return NotText(_("Send this field as text."))


def too_deep(data: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON data nests more than `limit` objects or arrays deep (crm/lib/json_input)."""
    return json_input.too_deep(data, limit)
