"""Reads: which leads a user may see, the queue, duplicates. Scoping lives here only."""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404

from crm import access
from crm.deadlines.models import Deadline
from crm.teams.models import Team
from crm.teams.selectors import teams_for_user
from leads import channels
from leads.alerts import running_callback_q, sla_state_of
from leads.models import Lead, LeadContactPoint, LeadSource

_SOURCE_TTL_S = 30.0
_sources: dict[str, tuple[float, LeadSource]] = {}


def intake_source(key: str) -> LeadSource | None:
    """The active source with this intake key, with its team. Kept 30 s per process, as every
    web-form post needs it: a source or team saved applies at once in the process that saved
    it, and within 30 s in the others (a rotated or disabled key stops working by then)."""
    cached = _sources.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    source = LeadSource.objects.filter(intake_key=key, active=True).select_related("team").first()
    if source is not None:  # unknown keys are not kept: a flood of them must not grow memory
        _sources[key] = (time.monotonic() + _SOURCE_TTL_S, source)
    return source


def forget_intake_sources(**_signal) -> None:
    _sources.clear()


def leads_visible_to(user: User) -> QuerySet[Lead]:
    # The team ids as a list, not a subquery: with literal ids the planner walks the queue's
    # partial index in due order instead of sorting the team's whole backlog.
    return Lead.objects.filter(team__in=lead_team_ids(user))


def lead_team_ids(user: User) -> list[int]:
    """The qualification teams whose leads the user sees (`leads_visible_to`)."""
    return access.seen_team_ids(user, Team.Kind.QUALIFICATION)


def lead_get_for_user(user: User, pk: int) -> Lead:
    """The one way a page or API view fetches a lead: another team's lead is a 404."""
    try:
        return leads_visible_to(user).select_related("team", "source", "assignee").get(pk=pk)
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def queue_teams(user: User) -> list[Team]:
    return list(teams_for_user(user).filter(kind=Team.Kind.QUALIFICATION))


def open_duplicate_of(team: Team, keys: Iterable[str], exclude: int | None = None) -> Lead | None:
    """The team's oldest open lead holding any of these phones or e-mails
    (`channels.duplicate_keys`), which a new lead is linked to: an original (itself no
    duplicate) before any duplicate, so that one person's leads all point at the one lead whose
    callback clock runs, even when concurrent posts committed out of their arrival order.
    Within the team only: a qualifier never learns of another team's leads this way.
    `channels.DUPLICATE_SQL` is the same query in SQL (services.INSERT_ONCE_SQL)."""
    keys = [k for k in keys if k]
    if not keys:
        return None
    leads = Lead.objects.filter(
        team=team,
        state__in=Lead.OPEN_STATES,
        id__in=LeadContactPoint.objects.filter(value__in=keys).values("lead_id"),
    )
    if exclude is not None:
        leads = leads.exclude(pk=exclude)
    return leads.order_by(*channels.DUPLICATE_ORDER).first()


AGE_FILTERS = {
    "1h": lambda now: Q(created_at__gte=now - timedelta(hours=1)),
    "24h": lambda now: Q(created_at__gte=now - timedelta(hours=24)),
    "older_1d": lambda now: Q(created_at__lt=now - timedelta(hours=24)),
    "older_7d": lambda now: Q(created_at__lt=now - timedelta(days=7)),
}


def open_count(leads: QuerySet[Lead], cap: int = 1000) -> int:
    """How many open leads, counted only up to `cap`: the page says "1000+" beyond it rather
    than counting a six-figure backlog on every refresh. On PostgreSQL index-only
    (migration leads 0028, `lead_open_count`)."""
    return leads.filter(state__in=Lead.OPEN_STATES).order_by()[:cap].count()


@dataclass
class SlaRow:
    lead: Lead
    status: str  # "warning" or "breach"
    late_since: datetime


def sla_now(teams: list[Team], now: datetime) -> dict[str, list[SlaRow]]:
    """Open leads in warning or in breach (leads.alerts.sla_state_of, the one definition of a
    lead's SLA status), grouped by who holds them: what a manager acts on right now."""
    late = (
        Deadline.objects.filter(
            running_callback_q(),
            lead__team__in=teams,
            lead__state__in=Lead.OPEN_STATES,
            due_at__lte=now,
        )
        .select_related("lead__assignee", "lead__source")
        .order_by("due_at")
    )
    clocks: dict[int, list[Deadline]] = {}
    for deadline in late[:2000]:
        clocks.setdefault(cast(int, deadline.lead_id), []).append(deadline)  # lead__team__in: set
    rows = []
    for clock in clocks.values():
        state = sla_state_of(clock, now)
        # Running callback deadlines already due: warning or breach, since when it is set.
        rows.append(SlaRow(cast(Lead, clock[0].lead), state.status, cast(datetime, state.since)))
    groups: dict[str, list[SlaRow]] = {}
    for row in sorted(rows, key=lambda r: (r.status != "breach", r.late_since)):
        holder = row.lead.assignee
        key = (holder.get_full_name() or holder.get_username()) if holder else ""
        groups.setdefault(key, []).append(row)
    return groups
