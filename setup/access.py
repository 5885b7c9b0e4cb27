"""Who may change which settings: the Settings pages' own rules, built on the product's access
definitions (`crm/access.py`: an **admin** is an active superuser; a team's **manager**
manages it).

- criteria, junk and loss reasons are shared by every team: admins only;
- a team's SLA, claim and retry minutes and working hours: whoever manages the team;
- a lead source of a team: whoever manages that team; a source of no team (a phone call, a
  walk-in): admins only;
- a qualification team's PBX connections and sales mailboxes: whoever manages that team.
"""

from django.db.models import QuerySet

from crm.access import User, is_admin, managed_teams, may_open_settings
from crm.teams.models import Team
from leads.models import LeadSource, Mailbox
from telephony.models import PbxConnection

__all__ = ["is_admin", "managed_teams", "may_open_settings"]


def may_edit_shared_lists(user: User) -> bool:
    """Criteria (the call script) and junk and loss reasons: one list for every team."""
    return is_admin(user)


def source_teams(user: User) -> QuerySet[Team]:
    """The teams a source the user edits may deliver to: qualification teams they manage."""
    return managed_teams(user).filter(kind=Team.Kind.QUALIFICATION)


def editable_sources(user: User) -> QuerySet[LeadSource]:
    if is_admin(user):
        return LeadSource.objects.all()
    return LeadSource.objects.filter(team__in=source_teams(user))


def channel_teams(user: User) -> QuerySet[Team]:
    """The teams whose PBX and mailbox the user sets up: qualification teams they manage (calls
    and letters become leads, and leads live in qualification teams)."""
    return managed_teams(user).filter(kind=Team.Kind.QUALIFICATION)


def editable_pbx_connections(user: User) -> QuerySet[PbxConnection]:
    return PbxConnection.objects.filter(team__in=channel_teams(user))


def editable_mailboxes(user: User) -> QuerySet[Mailbox]:
    return Mailbox.objects.filter(team__in=channel_teams(user))
