"""The deal's deadline: a deal nobody accepts in time alerts the sales team's manager (its
members if it has none). Registered with the deadline engine (crm/deadlines), raised by its
one sweep; scheduled by the handoff when it creates the deal, cancelled here when the deal is
accepted or closed."""

from datetime import datetime

from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from crm.deadlines import registry
from crm.deadlines import services as deadlines
from deals.models import Deal

DEAL = registry.register_subject(
    registry.Subject(
        field="deal",
        url_name="deals:detail",
        param="contact",
        label=lambda: F("deal__contact__name"),
        holder=lambda now: F("deal__closer_id"),
    )
)

ACCEPTANCE = registry.register(
    registry.Kind(
        code="acceptance",
        subject=DEAL,
        label=_("deal not accepted"),
        tell=registry.TELL_MANAGER,
        message=gettext_noop("Nobody has accepted the deal with %(contact)s yet."),
        notification="deal_not_accepted",
    )
)


def schedule_acceptance(deal: Deal, due_at: datetime) -> None:
    deadlines.schedule(deal, [(ACCEPTANCE.code, due_at)])


def cancel_acceptance(deal: Deal, now: datetime) -> None:
    deadlines.cancel(deal, now, [ACCEPTANCE.code])
