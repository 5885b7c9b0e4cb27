"""The one sweep: raise every due deadline of every registered kind, once, and tell people.

It claims due deadlines with a conditional UPDATE … RETURNING, so each is raised by exactly
one sweeper even when two run at once, and in the same transaction writes the in-app
notifications (TOLD_SQL, one INSERT … SELECT whatever the number of alerts) and their
deliveries (the outbox). E-mail and webhooks follow from there. The raised deadline is the
alert's record: a lead's timeline reads it from there (leads.alerts.raised_on_timeline)."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from crm.deadlines import registry
from crm.deadlines.models import Deadline
from crm.deadlines.signals import raised as deadlines_raised
from crm.lib import sql
from crm.notifications.models import Notification
from crm.notifications.services import WebhookPost, add_deliveries
from crm.teams.models import Team

SWEEP_LIMIT = 5000


def sweep(now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Raise every due deadline once; returns how many this sweep raised.

    Set-based: a handful of statements whatever the number of due deadlines, so one sweep
    stays well inside its 30 s even when a whole morning's leads fall due at once."""
    now = now or timezone.now()
    registered = registry.kinds()
    with transaction.atomic():
        raised = claim_due(now, list(registered), limit)
        if not raised:
            return 0
        claimed = [deadline_id for deadline_id, _kind in raised]
        # Only the kinds and subjects this sweep raised: no empty branch in the statements.
        kinds = {code: registered[code] for code in sorted({kind for _id, kind in raised})}
        fields = {kind.subject.field for kind in kinds.values()}
        subjects = [subject for subject in registry.subjects() if subject.field in fields]
        notes = _notify_told(claimed, now, kinds, subjects)
        webhooks = _webhooks(claimed, notes, kinds, subjects)
        add_deliveries([note_id for note_id, *_rest in notes], webhooks, now)
        deadlines_raised.send(sender=Deadline, ids=claimed, now=now)
    return len(claimed)


def claim_due(now: datetime, kinds: list[str], limit: int = SWEEP_LIMIT) -> list[tuple[int, str]]:
    """Mark due deadlines of these kinds raised; the (id, kind) of those this call marked.
    Call it inside a transaction: the rows stay locked until it commits."""
    # Two statements: lock the due pending rows (SKIP LOCKED: two sweepers share the work
    # instead of one waiting on the other, and never take the same row), then mark exactly
    # those by id. One UPDATE … WHERE id IN (subquery) made PostgreSQL scan every pending
    # deadline for its hash join: 45 ms at a million leads instead of 10. SQLite takes the
    # write lock when the transaction starts, so there the SELECT is already exclusive.
    if not kinds:
        return []
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    table = Deadline._meta.db_table
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
            f"UPDATE {table} SET raised_at = %s WHERE {matches} RETURNING id, kind",  # noqa: S608
            [sql.moment(now), *params],
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]


# Who is told, written once, as SQL over the claimed deadlines of every subject: a kind told to
# the holder goes to whoever holds the subject (its whole team if nobody does), a kind told to
# the manager to the subject team's manager (its whole team if it has none). `claimed` is built
# by the ORM from each subject's registration (its team, its holder — for a lead
# Lead.claim_active_q — and its name), so no rule is spelt here a second time. A lead is named
# by its name or number, never its phone or e-mail: the text also goes to e-mail subjects and
# to a messenger bot outside our servers.
TOLD_SQL = """
WITH claimed AS ({claimed}), told AS (
    SELECT c.*, t.manager_id AS user_id FROM claimed c
    JOIN {team} t ON t.id = c.team_id
    WHERE c.kind IN ({to_manager}) AND t.manager_id IS NOT NULL
    UNION ALL
    SELECT c.*, c.holder_id FROM claimed c
    WHERE c.kind NOT IN ({to_manager}) AND c.holder_id IS NOT NULL
    UNION ALL
    SELECT c.*, m.user_id FROM claimed c
    JOIN {team} t ON t.id = c.team_id
    JOIN {members} m ON m.team_id = c.team_id
    JOIN {user} u ON u.id = m.user_id AND u.is_active
    WHERE CASE WHEN c.kind IN ({to_manager}) THEN t.manager_id IS NULL
               ELSE c.holder_id IS NULL END
)
INSERT INTO {notification}
    (recipient_id, kind, team_id, message, params, url, created_at, read_at)
SELECT user_id, CASE kind {notification_kinds} END, team_id, CASE kind {messages} END,
       CASE kind {params} END, CASE kind {urls} END, %s, NULL
FROM told
RETURNING id, url, kind
"""

_CLAIMED_COLUMNS = ("id", "kind", "subject_id", "label", "team_id", "holder_id")


def _claimed_sql(
    claimed: list[int], now: datetime, subjects: list[registry.Subject]
) -> tuple[str, list]:
    """The claimed deadlines with their subject, its name, team and holder: one SELECT per
    subject compiled by the ORM, joined by UNION ALL."""
    parts: list[str] = []
    params: list = []
    for subject in subjects:
        matches, id_params = sql.in_ids(f"{Deadline._meta.db_table}.id", claimed)
        rows = (
            # On the subject's team column: an inner join (the foreign key is nullable).
            Deadline.objects.filter(**{f"{subject.field}__team__isnull": False})
            .extra(where=[matches], params=id_params)  # noqa: S610 - ours; ids are params
            .annotate(
                subject_id=F(f"{subject.field}_id"),
                label=subject.label(),
                team_id=F(f"{subject.field}__team_id"),
                holder_id=subject.holder(now),
            )
            .values(*_CLAIMED_COLUMNS)
            .order_by()
        )
        statement, statement_params = rows.query.sql_with_params()
        columns = ", ".join(_CLAIMED_COLUMNS)
        parts.append(f"SELECT {columns} FROM ({statement}) s{len(parts)}")  # noqa: S608
        params.extend(statement_params)
    return " UNION ALL ".join(parts), params


def _notify_told(
    claimed: list[int],
    now: datetime,
    kinds: dict[str, registry.Kind],
    subjects: list[registry.Subject],
) -> list[tuple[int, str, str]]:
    """The in-app notifications of the claimed deadlines; their ids, links and kinds."""
    claimed_sql, claimed_params = _claimed_sql(claimed, now, subjects)
    to_manager = [code for code, kind in kinds.items() if kind.tell == registry.TELL_MANAGER]
    when = [f"WHEN '{code}' THEN" for code in kinds]
    statement = TOLD_SQL.format(
        claimed=claimed_sql,
        team=Team._meta.db_table,
        members=Team.members.through._meta.db_table,
        user=get_user_model()._meta.db_table,
        notification=Notification._meta.db_table,
        # No manager kind raised: a kind no deadline has (NOT IN (NULL) would match nothing).
        to_manager=", ".join(f"'{code}'" for code in to_manager) or "''",
        notification_kinds=" ".join(f"{w} %s" for w in when),
        messages=" ".join(f"{w} %s" for w in when),
        params=" ".join(
            f"{w} {sql.json_object(kind.subject.param, 'label')}"
            for w, kind in zip(when, kinds.values(), strict=True)
        ),
        urls=" ".join(f"{w} %s || subject_id || %s" for w in when),
    )
    params = [
        *claimed_params,
        *(kind.notification for kind in kinds.values()),
        *(kind.message for kind in kinds.values()),
        *(part for kind in kinds.values() for part in _url_parts(kind.subject.url_name)),
        sql.moment(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def _webhooks(
    claimed: list[int],
    notes: list[tuple[int, str, str]],
    kinds: dict[str, registry.Kind],
    subjects: list[registry.Subject],
) -> list[WebhookPost]:
    """One post per alert to its team's webhook, however many people the alert tells (a team
    warning tells everyone): a chat gets the alert once, keyed by its deadline, and the
    alert's first notification carries the text."""
    hooked = Q()
    for subject in subjects:
        hooked |= Q(**{f"{subject.field}__team__alert_webhook_url__gt": ""})
    rows = (
        Deadline.objects.filter(hooked, pk__in=claimed)
        .values_list(
            "id",
            "kind",
            *(f"{subject.field}_id" for subject in subjects),
            *(f"{subject.field}__team__alert_webhook_url" for subject in subjects),
        )
        .order_by()
    )
    links = [_url_parts(subject.url_name) for subject in subjects]
    # A notification names its deadline by the subject's link and the kind: a subject has at
    # most one pending deadline of each kind.
    alerts: dict[tuple[str, str], tuple[int, str]] = {}
    for deadline_id, kind, *ids_and_hooks in rows:
        for (head, tail), subject_id, hook in zip(
            links, ids_and_hooks[: len(subjects)], ids_and_hooks[len(subjects) :], strict=True
        ):
            if subject_id is not None and hook:
                alerts[(f"{head}{subject_id}{tail}", kinds[kind].notification)] = (
                    deadline_id,
                    hook,
                )
    if not alerts:
        return []
    posts: dict[int, WebhookPost] = {}
    for note_id, link, kind in sorted(notes):
        alert = alerts.get((link, kind))
        if alert is not None and alert[0] not in posts:
            posts[alert[0]] = WebhookPost(note_id, alert[1], f"deadline-{alert[0]}")
    return list(posts.values())


def _url_parts(url_name: str) -> tuple[str, str]:
    """A subject's page address around its id, so SQL can build it for every subject."""
    head, tail = reverse(url_name, args=[0]).rsplit("/0/", 1)
    return f"{head}/", f"/{tail}"
