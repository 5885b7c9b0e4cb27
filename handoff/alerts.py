"""The handoff's own deadline: a deal nobody accepts in time alerts the sales team's manager.
Raised by the same once-only claim as the lead SLA."""

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.notifications.services import Message, notify
from deals.models import Deal
from leads.alerts import claim_due
from leads.models import Deadline


def _told(deal: Deal) -> list:
    """The sales team's manager; with none, its members (somebody must hear of it)."""
    if deal.team.manager_id:
        return [deal.team.manager]
    return list(deal.team.members.filter(is_active=True))


def acceptance_sweep(now: datetime | None = None) -> int:
    now = now or timezone.now()
    with transaction.atomic():
        claimed = claim_due(now, [Deadline.Kind.ACCEPTANCE])
        if not claimed:
            return 0
        deals = Deal.objects.filter(lead__deadlines__in=claimed).select_related(
            "team__manager", "contact"
        )
        notify(
            (
                Message(
                    recipient=user,
                    kind="deal_not_accepted",
                    message=gettext_noop("Nobody has accepted the deal with %(contact)s yet."),
                    params={"contact": deal.contact.name},
                    url=reverse("deals:detail", args=[deal.pk]),
                    webhook_url=deal.team.alert_webhook_url,
                    team=deal.team,
                )
                for deal in deals
                for user in _told(deal)
            ),
            now,
        )
    return len(claimed)
