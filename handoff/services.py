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


def receiving_team(
    lead: Lead, sales_team: Team | None = None, closer: AbstractBaseUser | None = None
) -> Team:
    """The sales team a lead goes to: the one chosen, else the closer's, else the only one
    its qualification team hands off to."""
    candidates = lead.team.receiving_sales_teams()
    if sales_team is not None:
        candidates = candidates.filter(pk=sales_team.pk)
    if closer is not None:
        candidates = candidates.filter(members=closer)
    chosen = list(candidates[:2])
    if len(chosen) == 1:
        return chosen[0]
    if closer is not None and not chosen:
        raise ValidationError({"closer": _("This closer is not in a team this lead can go to.")})
    raise ValidationError({"sales_team": _("Choose a sales team this team hands off to.")})


def lead_convert(
    *,
    lead: Lead,
    by: AbstractBaseUser,
    sales_team: Team | None = None,
    closer: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Handoff:
    """Convert a checked lead: in one transaction the lead becomes `converted`, the person's
    Contact and Company are found or created, the sales team gets a Deal (given to `closer`
    when one is chosen), and a Handoff records it. If any part fails, none of it happened."""
    now = now or timezone.now()
    team = receiving_team(lead, sales_team, closer)

    def hand_over() -> Handoff:
        deal = deal_create_from_lead(lead=lead, team=team, closer=closer, now=now)
        return Handoff.objects.create(
            lead=lead, deal=deal, qualifier=by, from_team=lead.team, team=team, handed_off_at=now
        )

    return lead_transition(lead=lead, by=by, name="convert", then=hand_over, now=now)
