"""What a deadline means, registered by the app that owns it.

A *subject* is what deadlines belong to (a lead, a deal): the Deadline foreign key, the page
that a notification links to, the name a message gives it, and who holds it now. A *kind* is a
deadline of a subject: who is told when it is raised (its holder, or the subject team's
manager), the text (an English msgid, translated when read) and the notification kind. Apps
register theirs when they load (leads: the callback warning and breach and the checked-lead
reminders; deals: the acceptance deadline); the one sweep (crm/deadlines/sweep.py) raises
them all. This module imports no app above it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import IntegerField, Value
from django.db.models.expressions import Combinable
from django.utils.functional import Promise

# Who is told when a deadline is raised, written once (sweep.TOLD_SQL):
TELL_HOLDER = "holder"  # whoever holds the subject; its whole team if nobody does
TELL_MANAGER = "manager"  # the subject team's manager; its whole team if it has none


@dataclass(frozen=True)
class Subject:
    field: str  # the Deadline foreign key ("lead", "deal"); its team is `<field>__team`
    url_name: str  # the subject's page, reversed with its id
    param: str  # the name its messages give it: "%(lead)s"
    label: Callable[[], Combinable]  # that name, as an expression over Deadline rows
    # Who holds the subject at `now`, as an expression over Deadline rows (NULL: nobody).
    holder: Callable[[datetime], Combinable] = lambda now: Value(None, IntegerField())


@dataclass(frozen=True)
class Kind:
    code: str  # what Deadline.kind stores
    subject: Subject
    label: str | Promise  # for the admin (lazy)
    tell: str  # TELL_HOLDER or TELL_MANAGER
    message: str  # an English msgid (gettext_noop), with %(<subject.param>)s
    notification: str  # Notification.kind


_subjects: dict[str, Subject] = {}
_kinds: dict[str, Kind] = {}


def register_subject(subject: Subject) -> Subject:
    _subjects[subject.field] = subject
    return subject


def register(kind: Kind) -> Kind:
    if kind.tell not in (TELL_HOLDER, TELL_MANAGER):
        raise ValueError(f"deadline kind {kind.code}: tell must be holder or manager")
    known = _kinds.get(kind.code)
    if known is not None and known != kind:
        raise ValueError(f"deadline kind {kind.code} is registered twice")
    register_subject(kind.subject)
    _kinds[kind.code] = kind
    return kind


def kinds() -> dict[str, Kind]:
    return dict(_kinds)


def subjects() -> list[Subject]:
    return list(_subjects.values())


def label(code: str) -> str:
    kind = _kinds.get(code)
    return str(kind.label) if kind is not None else code
