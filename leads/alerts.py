"""SLA alerts: scheduling a lead's deadlines, and the sweep that raises the due ones.

The sweep claims due deadlines with one conditional UPDATE … RETURNING, so each is raised by
exactly one sweeper even when two run at once, and writes the lead's event, the in-app
notifications and their deliveries in the same transaction (the outbox) with INSERT … SELECT
statements. E-mail and webhooks follow from there."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.lib import sql
from crm.notifications.models import Notification
from crm.notifications.services import WebhookPost, add_deliveries
from crm.teams.models import Team
from crm.teams.selectors import working_week
from leads import sla
from leads.models import Deadline, Lead, LeadEvent

SWEEP_LIMIT = 5000

TO_MANAGER = (Deadline.Kind.BREACH, Deadline.Kind.STALL_ESCALATE)

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
    """Raise every due lead deadline once; returns how many this sweep raised.

    Set-based: a handful of statements whatever the number of due deadlines, so one sweep
    stays well inside its 30 s even when a whole morning's leads fall due at once."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = claim_due(now, Deadline.LEAD_KINDS, limit)
        if not claimed:
            return 0
        _record_alerts(claimed, now)
        notes = _notify_told(claimed, now)
        add_deliveries([note_id for note_id, *_rest in notes], _webhooks(claimed, notes), now)
    return len(claimed)


def claim_due(now: datetime, kinds: Iterable[str], limit: int = SWEEP_LIMIT) -> list[int]:
    """Mark due deadlines of these kinds raised; the ids this call marked. Call it inside a
    transaction: the rows stay locked until it commits."""
    # Two statements: lock the due pending rows (SKIP LOCKED: two sweepers share the work
    # instead of one waiting on the other, and never take the same row), then mark exactly
    # those by id. One UPDATE … WHERE id IN (subquery) made PostgreSQL scan every pending
    # deadline for its hash join: 45 ms at a million leads instead of 10. SQLite takes the
    # write lock when the transaction starts, so there the SELECT is already exclusive.
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    table = Deadline._meta.db_table
    kinds = list(kinds)
    in_kinds = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT id FROM {table}
                WHERE raised_at IS NULL AND cancelled_at IS NULL AND due_at <= %s
                  AND kind IN ({in_kinds})
                ORDER BY due_at LIMIT %s {skip_locked}""",  # noqa: S608 - ours; values are params
            [sql.moment(now), *kinds, limit],
        )
        due = [row[0] for row in cursor.fetchall()]
        if not due:
            return []
        matches, params = sql.in_ids("id", due)
        cursor.execute(
            f"UPDATE {table} SET raised_at = %s WHERE {matches} RETURNING id",  # noqa: S608
            [sql.moment(now), *params],
        )
        return [row[0] for row in cursor.fetchall()]


def _record_alerts(claimed: list[int], now: datetime) -> None:
    """The 'alert raised' event on each lead's timeline."""
    matches, params = sql.in_ids("id", claimed)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {LeadEvent._meta.db_table}
                    (lead_id, actor_id, at, kind, from_state, to_state, reason_id, note,
                     attempt_id, deadline_id)
                SELECT lead_id, NULL, %s, %s, '', '', NULL, '', NULL, id
                FROM {Deadline._meta.db_table} WHERE {matches}""",  # noqa: S608 - ours
            [sql.moment(now), LeadEvent.Kind.ALERT, *params],
        )


# Who is told, as SQL over the claimed deadlines: warnings and reminders go to whoever holds
# the lead (the whole team if nobody does); breaches and escalations to the team's manager
# (the whole team if it has none). The lead is named by its name or number, never its phone
# or e-mail: the text also goes to e-mail subjects and to a messenger bot outside our servers.
# "held" is Lead.claim_active spelt in SQL (tests/leads/test_alerts.py keeps them equal).
TOLD_SQL = """
WITH claimed AS (
    SELECT d.kind, l.id AS lead_id, l.name, l.team_id, t.manager_id, l.assignee_id,
           (l.assignee_id IS NOT NULL
            AND (l.claim_expires_at IS NULL OR l.claim_expires_at >= %s)) AS held
    FROM {deadline} d
    JOIN {lead} l ON l.id = d.lead_id
    JOIN {team} t ON t.id = l.team_id
    WHERE {matches}
), told AS (
    SELECT c.*, c.manager_id AS user_id FROM claimed c
    WHERE c.kind IN ({to_manager}) AND c.manager_id IS NOT NULL
    UNION ALL
    SELECT c.*, c.assignee_id FROM claimed c
    WHERE c.kind NOT IN ({to_manager}) AND c.held
    UNION ALL
    SELECT c.*, m.user_id FROM claimed c
    JOIN {members} m ON m.team_id = c.team_id
    JOIN {user} u ON u.id = m.user_id AND u.is_active
    WHERE CASE WHEN c.kind IN ({to_manager}) THEN c.manager_id IS NULL ELSE NOT c.held END
)
INSERT INTO {notification}
    (recipient_id, kind, team_id, message, params, url, created_at, read_at)
SELECT user_id, 'lead_' || kind, team_id, CASE kind {messages} END,
       {params}, %s || lead_id || %s, %s, NULL
FROM told
RETURNING id, url, kind
"""


def _notify_told(claimed: list[int], now: datetime) -> list[tuple[int, str, str]]:
    """The in-app notifications of the claimed deadlines; their ids, links and kinds."""
    matches, id_params = sql.in_ids("d.id", claimed)
    head, tail = _lead_url_parts()
    statement = TOLD_SQL.format(
        deadline=Deadline._meta.db_table,
        lead=Lead._meta.db_table,
        team=Team._meta.db_table,
        members=Team.members.through._meta.db_table,
        user=get_user_model()._meta.db_table,
        notification=Notification._meta.db_table,
        matches=matches,
        to_manager=", ".join(f"'{kind}'" for kind in TO_MANAGER),
        messages=" ".join(f"WHEN '{kind}' THEN %s" for kind in MESSAGES),
        params=sql.json_object("lead", "coalesce(nullif(name, ''), '#' || lead_id)"),
    )
    params = [sql.moment(now), *id_params, *MESSAGES.values(), head, tail, sql.moment(now)]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def _webhooks(claimed: list[int], notes: list[tuple[int, str, str]]) -> list[WebhookPost]:
    """One post per alert to its team's webhook, however many people the alert tells (a team
    warning tells everyone): a chat gets the alert once, keyed by its deadline, and the
    alert's first notification carries the text."""
    hooks = (
        Deadline.objects.filter(pk__in=claimed)
        .exclude(lead__team__alert_webhook_url="")
        .values_list("id", "lead_id", "kind", "lead__team__alert_webhook_url")
    )
    if not hooks:
        return []
    head, tail = _lead_url_parts()
    # A notification names its deadline by the lead's link and the kind: a lead has at most
    # one pending deadline of each kind.
    alerts = {
        (f"{head}{lead_id}{tail}", f"lead_{kind}"): (deadline_id, url)
        for deadline_id, lead_id, kind, url in hooks
    }
    posts: dict[int, WebhookPost] = {}
    for note_id, link, kind in sorted(notes):
        alert = alerts.get((link, kind))
        if alert is not None and alert[0] not in posts:
            posts[alert[0]] = WebhookPost(note_id, alert[1], f"deadline-{alert[0]}")
    return list(posts.values())


def _lead_url_parts() -> tuple[str, str]:
    """The lead page's address around its id, so SQL can build it for every lead."""
    head, tail = reverse("leads:detail", args=[0]).rsplit("/0/", 1)
    return f"{head}/", f"/{tail}"
