from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.teams.models import Team
from deals.services import deal_create_from_lead
from handoff.models import Handoff
from leads.models import Lead
from leads.services import lead_transition


def lead_convert(
    *, lead: Lead, by: AbstractBaseUser, sales_team: Team | None, now: datetime | None = None
) -> Handoff:
    """Convert a checked lead: in one transaction the lead becomes `converted`, the person's
    Contact and Company are found or created, the sales team gets a Deal, and a Handoff
    records it. If any part fails, none of it happened."""
    now = now or timezone.now()
    if (
        sales_team is None
        or not lead.team.receiving_sales_teams().filter(pk=sales_team.pk).exists()
    ):
        raise ValidationError({"sales_team": _("Choose a sales team this team hands off to.")})

    def hand_over() -> Handoff:
        deal = deal_create_from_lead(lead=lead, team=sales_team, now=now)
        return Handoff.objects.create(
            lead=lead,
            deal=deal,
            qualifier=by,
            from_team=lead.team,
            team=sales_team,
            handed_off_at=now,
        )

    return lead_transition(lead=lead, by=by, name="convert", then=hand_over, now=now)
