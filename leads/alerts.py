"""SLA alerts: scheduling a lead's deadlines, and the sweep that raises the due ones.

The sweep claims due deadlines with one conditional UPDATE … RETURNING, so each is raised by
exactly one sweeper even when two run at once, and writes the lead's event and the in-app
notifications in the same transaction (the outbox). E-mail and webhooks follow from there."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.notifications.services import Message, notify
from crm.teams.models import Team
from crm.teams.selectors import working_week
from leads import sla
from leads.models import Deadline, Lead, LeadEvent

SWEEP_LIMIT = 5000

MESSAGES = {
    Deadline.Kind.WARN: gettext_noop("Call %(lead)s now: the callback is due."),
    Deadline.Kind.BREACH: gettext_noop("SLA breach: %(lead)s has not been called in time."),
    Deadline.Kind.STALL_REMIND: gettext_noop(
        "%(lead)s has been waiting in checked: convert or junk it."
    ),
    Deadline.Kind.STALL_ESCALATE: gettext_noop("%(lead)s has been left in checked too long."),
}


def schedule_callback(lead: Lead, warn_at: datetime, breach_at: datetime) -> None:
    Deadline.objects.bulk_create(
        [
            Deadline(lead=lead, kind=Deadline.Kind.WARN, due_at=warn_at),
            Deadline(lead=lead, kind=Deadline.Kind.BREACH, due_at=breach_at),
        ]
    )


def schedule_requested_callback(lead: Lead, callback_at: datetime) -> None:
    schedule_callback(
        lead, *sla.callback_deadlines(callback_at, lead.team, working_week(lead.team))
    )


def schedule_stall(lead: Lead, checked_at: datetime) -> None:
    remind_at, escalate_at = sla.stall_deadlines(checked_at, lead.team, working_week(lead.team))
    Deadline.objects.bulk_create(
        [
            Deadline(lead=lead, kind=Deadline.Kind.STALL_REMIND, due_at=remind_at),
            Deadline(lead=lead, kind=Deadline.Kind.STALL_ESCALATE, due_at=escalate_at),
        ]
    )


def cancel(lead: Lead, now: datetime, kinds: Iterable[str] | None = None) -> None:
    """Stop the clock: pending deadlines of these kinds (all by default) will not be raised."""
    pending = lead.deadlines.filter(raised_at=None, cancelled_at=None)
    if kinds is not None:
        pending = pending.filter(kind__in=list(kinds))
    pending.update(cancelled_at=now)


def sla_sweep(now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Raise every due lead deadline once; returns how many this sweep raised."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = claim_due(now, Deadline.LEAD_KINDS, limit)
        if not claimed:
            return 0
        deadlines = list(
            Deadline.objects.filter(pk__in=claimed).select_related(
                "lead__team__manager", "lead__assignee"
            )
        )
        LeadEvent.objects.bulk_create(
            LeadEvent(lead=d.lead, at=now, kind=LeadEvent.Kind.ALERT, deadline=d) for d in deadlines
        )
        members = _members_by_team({d.lead.team_id for d in deadlines})
        notify((m for d in deadlines for m in _messages(d, members, now)), now)
    return len(claimed)


def claim_due(now: datetime, kinds: Iterable[str], limit: int = SWEEP_LIMIT) -> list[int]:
    """Mark due deadlines of these kinds raised; the ids this call marked."""
    # One statement marks the due deadlines raised and returns the ones it marked; a second
    # sweeper's UPDATE finds them raised and returns none. On PostgreSQL SKIP LOCKED lets two
    # sweepers share the work instead of one waiting on the other.
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    table = Deadline._meta.db_table
    kinds = list(kinds)
    in_kinds = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET raised_at = %s
                WHERE id IN (SELECT id FROM {table}
                             WHERE raised_at IS NULL AND cancelled_at IS NULL AND due_at <= %s
                               AND kind IN ({in_kinds})
                             ORDER BY due_at LIMIT %s {skip_locked})
                  AND raised_at IS NULL AND cancelled_at IS NULL
                RETURNING id""",  # noqa: S608 - the table name is ours, values are parameters
            [now, now, *kinds, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _members_by_team(team_ids: set[int]) -> dict[int, list[AbstractBaseUser]]:
    members: dict[int, list[AbstractBaseUser]] = defaultdict(list)
    active = Prefetch("members", queryset=get_user_model().objects.filter(is_active=True))
    for team in Team.objects.filter(pk__in=team_ids).prefetch_related(active):
        members[team.pk] = list(team.members.all())
    return members


def _messages(deadline: Deadline, members: dict[int, list], now: datetime) -> list[Message]:
    lead = deadline.lead
    # The name or the number of the lead, never its phone or e-mail: this text also goes to
    # e-mail subjects and to a messenger bot outside the customer's servers.
    params = {"lead": lead.name or f"#{lead.pk}"}
    return [
        Message(
            recipient=user,
            kind=f"lead_{deadline.kind}",
            message=MESSAGES[deadline.kind],
            params=params,
            url=reverse("leads:detail", args=[lead.pk]),
            webhook_url=lead.team.alert_webhook_url,
        )
        for user in _recipients(deadline, members, now)
    ]


def _recipients(deadline: Deadline, members: dict[int, list], now: datetime) -> list:
    """Warnings and reminders go to whoever holds the lead (the whole team if nobody does);
    breaches and escalations to the team's manager."""
    lead = deadline.lead
    if deadline.kind in (Deadline.Kind.BREACH, Deadline.Kind.STALL_ESCALATE):
        return [lead.team.manager] if lead.team.manager else members[lead.team_id]
    held = lead.assignee_id and (lead.claim_expires_at is None or lead.claim_expires_at > now)
    return [lead.assignee] if held else members[lead.team_id]
