"""Telling people: notifications in the app, then e-mail and webhook deliveries with retries.

`notify` only writes rows, inside the caller's transaction (the outbox); the deliveries are
sent by Celery tasks after commit, and again by the retry sweep whenever one is left over."""

import json
import logging
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.utils import timezone, translation

from crm.lib import sql
from crm.notifications.models import Delivery, DeliveryAttempt, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
WEBHOOK_TIMEOUT_S = 10


@dataclass(frozen=True)
class Message:
    recipient: User
    kind: str
    message: str  # an English msgid, marked with gettext_noop where it is written
    params: dict
    url: str = ""
    webhook_url: str = ""
    team: Any = None  # the Team it is about: the inbox groups by kind and team


@dataclass(frozen=True)
class WebhookPost:
    """One alert posted to a team's webhook. A chat hears of an alert once, not once per
    person it tells: the alert's first notification carries the text and link, and `key` (the
    Idempotency-Key) names the alert, so every retry of the post carries the same one."""

    notification_id: int
    url: str
    key: str


def notify(messages: Iterable[Message], now: datetime) -> list[Notification]:
    """Write the notifications and their deliveries; send them once the transaction commits.
    Messages that differ only in their recipient are one alert: one webhook post."""
    messages = list(messages)
    notifications = Notification.objects.bulk_create(
        Notification(
            recipient=m.recipient,
            kind=m.kind,
            message=m.message,
            params=m.params,
            url=m.url,
            team=m.team,
            created_at=now,
        )
        for m in messages
    )
    posts: dict[tuple, WebhookPost] = {}
    for m, n in zip(messages, notifications, strict=True):
        alert = (m.webhook_url, m.kind, m.message, json.dumps(m.params, sort_keys=True), m.url)
        if m.webhook_url and alert not in posts:
            posts[alert] = WebhookPost(n.pk, m.webhook_url, f"notification-{n.pk}")
    add_deliveries([n.pk for n in notifications], posts.values(), now)
    return notifications


def add_deliveries(
    notification_ids: list[int], webhooks: Iterable[WebhookPost], now: datetime
) -> None:
    """The outbox rows of notifications just written: an e-mail to each recipient who has an
    address, and one webhook post per alert; sent after commit.

    The e-mails are one INSERT … SELECT, so a sweep raising thousands of alerts does not build
    a model instance per delivery."""
    ids = []
    if notification_ids:
        matches, params = sql.in_ids("n.id", notification_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {Delivery._meta.db_table}
                        (notification_id, channel, target, status, attempts, next_attempt_at,
                         leased_until, sent_at, last_error)
                    SELECT n.id, %s, u.email, %s, 0, %s, NULL, NULL, ''
                    FROM {Notification._meta.db_table} n
                    JOIN {get_user_model()._meta.db_table} u ON u.id = n.recipient_id
                    WHERE {matches} AND u.email <> ''
                    RETURNING id""",  # noqa: S608 - table names are ours, values parameters
                [Delivery.Channel.EMAIL, Delivery.Status.PENDING, sql.moment(now), *params],
            )
            ids = [row[0] for row in cursor.fetchall()]
    hooks = Delivery.objects.bulk_create(
        Delivery(
            notification_id=post.notification_id,
            channel=Delivery.Channel.WEBHOOK,
            target=post.url,
            key=post.key,
            next_attempt_at=now,
        )
        for post in webhooks
    )
    ids += [d.pk for d in hooks]
    if ids:
        transaction.on_commit(lambda: enqueue(ids))


def enqueue(delivery_ids: list[int]) -> None:
    """Hand deliveries to the workers. A broker that is down loses nothing: the rows wait and
    the retry sweep enqueues them again."""
    from crm.notifications.tasks import deliver

    try:
        # One producer for the whole batch, and a short argsrepr instead of Celery's repr of
        # a hundred ids per message: a sweep enqueues thousands of deliveries at once.
        with deliver.app.producer_or_acquire() as producer:
            for start in range(0, len(delivery_ids), 100):
                batch = delivery_ids[start : start + 100]
                deliver.apply_async(
                    (batch,), producer=producer, argsrepr=f"[{len(batch)} deliveries]"
                )
    except Exception:  # noqa: BLE001 - any broker failure; the sweep retries
        log.warning("broker unavailable; %d deliveries left for the retry sweep", len(delivery_ids))


def deliveries_due(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose time has come and that no live worker holds."""
    now = now or timezone.now()
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    due = due.exclude(leased_until__gt=now)
    return list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])


def delivery_send(delivery_id: int, now: datetime | None = None) -> bool:
    """Send one delivery if it is still pending and not leased; True when it went out now."""
    now = now or timezone.now()
    leased = (
        Delivery.objects.filter(
            pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
        )
        .exclude(leased_until__gt=now)
        .update(leased_until=now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS))
    )
    if not leased:
        return False
    delivery = Delivery.objects.select_related("notification__recipient").get(pk=delivery_id)
    try:
        SENDERS[Delivery.Channel(delivery.channel)](delivery)
    except Exception as error:  # noqa: BLE001 - any failure to send is retried
        _record_failure(delivery, str(error)[:1000] or error.__class__.__name__, now)
        return False
    attempts = delivery.attempts + 1
    Delivery.objects.filter(pk=delivery_id).update(
        status=Delivery.Status.SENT, sent_at=timezone.now(), attempts=attempts, leased_until=None
    )
    DeliveryAttempt.objects.create(delivery_id=delivery_id, at=now, ok=True)
    return True


def _record_failure(delivery: Delivery, error: str, now: datetime) -> None:
    attempts = delivery.attempts + 1
    # 30 s, 1 min, 2 min … capped at an hour: a receiver that is down gets time to recover.
    backoff = timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
    status = Delivery.Status.FAILED if attempts >= MAX_ATTEMPTS else Delivery.Status.PENDING
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        last_error=error,
        next_attempt_at=now + backoff,
        leased_until=None,
        status=status,
    )
    DeliveryAttempt.objects.create(delivery_id=delivery.pk, at=now, ok=False, error=error)
    log.warning("delivery %s attempt %s failed", delivery.pk, attempts)


def _send_email(delivery: Delivery) -> None:
    notification = delivery.notification
    with translation.override(settings.LANGUAGE_CODE):
        text = notification.text
    message = EmailMessage(
        subject=text,
        body=f"{text}\n\n{settings.SITE_URL}{notification.url}",
        to=[delivery.target],
        # The notification id lets a mail system (or a person) drop a repeat.
        headers={
            "X-Notification-Id": str(notification.pk),
            "Message-ID": f"<notification-{notification.pk}@{DNS_NAME}>",
        },
    )
    message.send()


def _send_webhook(delivery: Delivery) -> None:
    notification = delivery.notification
    with translation.override(settings.LANGUAGE_CODE):
        text = notification.text
    # Deliveries written before keys were per alert carry none: their old per-person key.
    key = delivery.key or f"notification-{notification.pk}"
    payload = {
        "key": key,
        "kind": notification.kind,
        "text": text,
        "url": f"{settings.SITE_URL}{notification.url}",
        "recipients": _alert_recipients(notification),
        "created_at": notification.created_at.isoformat(),
    }
    # urlopen also opens file: and ftp: URLs; a team's webhook is only ever http(s).
    if not delivery.target.startswith(("https://", "http://")):
        raise ValueError("a webhook URL must be http(s)")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        delivery.target,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def _alert_recipients(notification: Notification) -> list[str]:
    """Who the alert told: the people given the same notification at the same moment."""
    username = f"recipient__{get_user_model().USERNAME_FIELD}"
    same = Notification.objects.filter(
        kind=notification.kind,
        message=notification.message,
        url=notification.url,
        created_at=notification.created_at,
    )
    return list(same.order_by("id").values_list(username, flat=True))


SENDERS = {Delivery.Channel.EMAIL: _send_email, Delivery.Channel.WEBHOOK: _send_webhook}
