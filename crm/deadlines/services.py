"""Writing deadlines: schedule and cancel. The owning apps call these with their kinds."""

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, cast

from django.db.models import Model

from crm.deadlines.models import Deadline

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class Subject(Protocol):
    """A lead or a deal: the models with a `deadlines` reverse relation."""

    deadlines: "RelatedManager[Deadline]"


def schedule(subject: Model, due: Iterable[tuple[str, datetime]]) -> list[Deadline]:
    """Deadlines of these (kind, due_at) for a lead or a deal."""
    # "lead" or "deal": the Deadline foreign key (a concrete model always has a model_name).
    field = cast(str, subject._meta.model_name)
    # A lead's team goes with it (Deadline.lead_team: the reports count breaches by it).
    team = {"lead_team_id": getattr(subject, "team_id", None)} if field == "lead" else {}
    return Deadline.objects.bulk_create(
        Deadline(**{field: subject}, **team, kind=kind, due_at=due_at) for kind, due_at in due
    )


def cancel(subject: Subject, now: datetime, kinds: Iterable[str] | None = None) -> int:
    """Stop the clock: pending deadlines of these kinds (all by default) will not be raised."""
    pending = subject.deadlines.filter(raised_at=None, cancelled_at=None)
    if kinds is not None:
        pending = pending.filter(kind__in=list(kinds))
    return pending.update(cancelled_at=now)
