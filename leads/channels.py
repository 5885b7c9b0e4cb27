"""A person's phones and e-mails ("contact points") and the intake rules built on them, in one
place: how a name, a phone and an e-mail are normalised, which values a lead is matched on for
duplicates, and which open lead is the one a new lead duplicates.

Every way a lead is written uses these: the ORM path (`services.lead_create`), the one-statement
PostgreSQL path (`services.INSERT_ONCE_SQL`, whose duplicate query is `DUPLICATE_SQL` below),
the import's bulk writer (`imports._BatchWriter`), the workspace's contact edit and the
conversion into a contact (`deals.services.contact_for_lead`). `tests/leads/test_intake_parity.py`
feeds the same inputs to the three writers on PostgreSQL and compares the rows they store."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from crm.lib.phones import PhoneError, parse_phone

PHONE, EMAIL = "phone", "email"


class Label(models.TextChoices):
    """What kind of phone or e-mail it is, as the person (or the other CRM's column) said."""

    MOBILE = "mobile", _("mobile")
    WORK = "work", _("work")
    HOME = "home", _("home")
    OTHER = "other", _("other")


@dataclass(frozen=True)
class Point:
    """One phone or e-mail, normalised: `value` is E.164 or the lower-cased address; `ext` a
    phone's extension; `raw` what was typed, when it differs from the value."""

    kind: str
    value: str
    label: str = Label.OTHER
    ext: str = ""
    raw: str = ""


def normalise_name(text: str) -> str:
    return " ".join(str(text).split())


def normalise_email(text: str) -> str:
    return str(text).strip().lower()


def phone_point(typed: str, label: str = Label.OTHER, ext: str = "") -> tuple[Point, str]:
    """The phone as a point and the words typed after it (for the message); a PhoneError when
    it is no valid number. An extension typed in the number ("доб. 123") is kept with it."""
    phone = parse_phone(typed)
    raw = typed.strip()
    point = Point(
        PHONE,
        phone.e164,
        label_of(label),
        (str(ext).strip() or phone.extension)[:20],
        "" if raw == phone.e164 else raw[:200],
    )
    return point, phone.note


def email_point(typed: str, label: str = Label.OTHER) -> Point:
    """The e-mail as a point; a ValidationError when it is no valid address."""
    address = normalise_email(typed)
    validate_email(address)
    raw = str(typed).strip()
    return Point(EMAIL, address, label_of(label), "", "" if raw == address else raw[:200])


def label_of(text: str) -> str:
    """A label from our value or from a column's or a form's word for it ("Рабочий телефон",
    "Частный e-mail", "WORK", "MOB"); other when it names none."""
    word = str(text or "").strip().lower()
    if word in Label.values:
        return word
    for label, stems in _LABEL_STEMS:
        if any(stem in word for stem in stems):
            return label
    return Label.OTHER


_LABEL_STEMS = (
    (Label.MOBILE, ("моб", "mob", "сот", "cell")),
    (Label.WORK, ("раб", "work", "служ", "офис", "office")),
    (Label.HOME, ("дом", "home", "личн", "частн", "personal", "private", "priv")),
)

# Several e-mails in one value are split on commas, semicolons and white space (an address
# holds none); several phones on line breaks and semicolons only — a comma is what people
# type between a number and a remark ("+7 916 123-45-67, Иван"), which stays the note.
EMAIL_SPLIT = re.compile(r"[,;\s]+")
PHONE_SPLIT = re.compile(r"[;\n]+")


def split_phones(text: str) -> list[str]:
    return [p.strip() for p in PHONE_SPLIT.split(str(text)) if p.strip()]


def split_emails(text: str) -> list[str]:
    return [e for e in EMAIL_SPLIT.split(str(text).strip()) if e]


def unique(points: Iterable[Point]) -> list[Point]:
    """Each phone and e-mail once, in the order given (the first is the primary one)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for point in points:
        if (point.kind, point.value) not in seen:
            seen.add((point.kind, point.value))
            kept.append(point)
    return kept


def primary(points: Iterable[Point], kind: str) -> Point | None:
    return next((p for p in points if p.kind == kind), None)


def duplicate_keys(points: Iterable[Point]) -> list[str]:
    """What a lead is matched on: every phone and every e-mail it has (a phone's E.164 and an
    address never look alike, so one column holds both)."""
    return sorted({p.value for p in points if p.value})


# Which open lead a new one duplicates: the team's oldest open lead holding any of its phones
# or e-mails — an original (itself no duplicate) before any duplicate, so one person's leads
# all point at the one lead whose callback clock runs. The ORM order and its SQL spelling:
DUPLICATE_ORDER = (F("duplicate_of").asc(nulls_first=True), "created_at", "id")
# The leads holding the keys are read first, once (ARRAY(…) is run before the leads are read),
# then fetched by id: as `IN (SELECT …)` the planner, misled by the statistics of a table that
# grows fast (a mailbox or an import filling a new team), probed the points once per open lead
# of the team — quadratic, 0.85 s a letter after 600 letters.
DUPLICATE_SQL = """
    SELECT l.id FROM {lead} l
    WHERE l.id = ANY(ARRAY(SELECT lead_id FROM {point} WHERE value = ANY(%(keys)s)))
      AND l.team_id = %(team_id)s AND l.state = ANY(%(open_states)s)
    ORDER BY l.duplicate_of_id ASC NULLS FIRST, l.created_at, l.id LIMIT 1
"""


def duplicate_rank(duplicate_of_id: int | None, created_at, lead_id: int) -> tuple:
    """DUPLICATE_ORDER as a Python sort key, for the import that matches a batch at once."""
    return (duplicate_of_id is not None, created_at, lead_id)


def clean_points(
    phones: Iterable[tuple[str, str, str, str]], emails: Iterable[tuple[str, str, str]]
) -> tuple[list[Point], list[str], dict[str, list[str]], dict[str, dict[str, str]]]:
    """Parse the phones ((field, typed, label, ext)) and e-mails ((field, typed, label)) a lead
    arrived with: (the points, the notes typed after numbers, errors by field, problems by
    field as `Lead.contact_problems` keeps them — the first bad value of each field)."""
    points: list[Point] = []
    notes: list[str] = []
    errors: dict[str, list[str]] = {}
    problems: dict[str, dict[str, str]] = {}
    for field, typed, label, ext in phones:
        try:
            point, note = phone_point(typed, label, ext)
        except PhoneError as error:
            if field not in errors:
                errors[field] = [str(error.message)]
                problems[field] = {"typed": typed[:200], "problem": error.code}
            continue
        points.append(point)
        if note:
            notes.append(note)
    for field, typed, label in emails:
        try:
            points.append(email_point(typed, label))
        except ValidationError:
            if field not in errors:
                errors[field] = [str(_("Enter a valid e-mail address."))]
                problems[field] = {"typed": typed[:254], "problem": "invalid"}
    return unique(points), notes, errors, problems


def point_rows(model: type, points: Iterable[Point], **owner) -> list:
    """Unsaved rows of `model` (a lead's or a contact's points), each kind numbered from 0 —
    the primary one."""
    positions = {PHONE: 0, EMAIL: 0}
    rows = []
    for point in points:
        rows.append(
            model(
                kind=point.kind,
                label=point.label,
                value=point.value,
                ext=point.ext,
                raw=point.raw,
                position=positions[point.kind],
                **owner,
            )
        )
        positions[point.kind] += 1
    return rows
