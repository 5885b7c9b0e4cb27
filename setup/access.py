"""Who may change which settings: every check of the Settings pages, in one place.

These mirror the definitions of the product's access module (`crm/access.py`, being written
beside this branch): an **admin** is an active superuser; a team's **manager** manages it. When
that module lands, these functions become thin calls to it.

- criteria, junk and loss reasons are shared by every team: admins only;
- a team's SLA, claim and retry minutes and working hours: whoever manages the team;
- a lead source of a team: whoever manages that team; a source of no team (a phone call, a
  walk-in): admins only.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from crm.teams.models import Team
from leads.models import LeadSource

User = AbstractBaseUser | AnonymousUser


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def managed_teams(user: User) -> QuerySet[Team]:
    """The teams whose settings the user may change (admins: all)."""
    if not (user.is_authenticated and user.is_active):
        return Team.objects.none()
    if is_admin(user):
        return Team.objects.all()
    return Team.objects.filter(manager=user)


def may_open_settings(user: User) -> bool:
    return is_admin(user) or managed_teams(user).exists()


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
