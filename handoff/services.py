from datetime import datetime, timedelta
from typing import cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.notifications.services import Message, notify
from crm.teams.models import Role, Team
from crm.teams.selectors import working_week
from crm.teams.templatetags.people import person
from deals import alerts as deal_alerts
from deals.models import Deal, VisitSlot
from deals.services import deal_create_from_lead
from handoff.assignment import choose_closer
from handoff.models import Handoff
from leads.models import Lead, LeadEvent
from leads.services import lead_transition


def receiving_team(lead: Lead, sales_team: Team | None = None, closer: User | None = None) -> Team:
    """The sales team a lead goes to: the one chosen, else the closer's, else the only one
    its qualification team hands off to."""
    if closer is not None and not closer.groups.filter(name=Role.CLOSER).exists():
        raise ValidationError({"closer": _("Give the deal to a closer.")})
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


def free_slots(team: Team, now: datetime, days: int = 14) -> list[VisitSlot]:
    """Site-visit slots the team's available closers have free in the coming days."""
    return list(
        VisitSlot.objects.filter(
            closer__in=team.members.filter(groups__name=Role.CLOSER, is_active=True),
            deal=None,
            starts_at__gt=now,
            starts_at__lt=now + timedelta(days=days),
        )
        .exclude(closer__closer_status__available=False)
        .select_related("closer")
    )


def lead_convert(
    *,
    lead: Lead,
    by: User,
    sales_team: Team | None = None,
    closer: User | None = None,
    slot: VisitSlot | None = None,
    address: str = "",
    now: datetime | None = None,
) -> Handoff:
    """Convert a checked lead. In one transaction: the lead becomes `converted`; the person's
    Contact and Company are found or created among the receiving sales team's own (never
    matched into another team's: `deals.services.contact_for_lead`); the team gets a Deal —
    for the closer whose site-visit slot was booked on the call, else the closer chosen, else
    one drawn by load and win rate (or the pool) — and a Handoff records it. If any part fails
    (the slot was booked by someone else a moment ago), none of it happened."""
    now = now or timezone.now()
    if slot is not None:
        closer = slot.closer
        if not address.strip():
            raise ValidationError({"address": _("Where is the site visit?")})
    team = receiving_team(lead, sales_team, closer)

    def hand_over() -> Handoff:
        given_to = closer or choose_closer(team, now)
        deal = deal_create_from_lead(lead=lead, team=team, by=by, closer=given_to, now=now)
        if slot is not None:
            _book(slot, deal, address, now)
            _record_visit(lead, by, deal, now)
        deal_alerts.schedule_acceptance(
            deal, working_week(team).add(now, team.acceptance_hours * 60)
        )
        _tell_closers(deal, now)
        return Handoff.objects.create(
            lead=lead, deal=deal, qualifier=by, from_team=lead.team, team=team, handed_off_at=now
        )

    # `then` is given, so a Handoff comes back (None is only for a transition without one)
    return cast(Handoff, lead_transition(lead=lead, by=by, name="convert", then=hand_over, now=now))


def _book(slot: VisitSlot, deal: Deal, address: str, now: datetime) -> None:
    # Conditional: of two qualifiers booking one slot, the second finds it taken.
    booked = VisitSlot.objects.filter(pk=slot.pk, deal=None, starts_at__gt=now).update(deal=deal)
    if not booked:
        raise ValidationError(
            {"slot": _("This slot was just booked by someone else: pick another.")}
        )
    Deal.objects.filter(pk=deal.pk).update(
        meeting_at=slot.starts_at, meeting_address=address.strip()
    )
    deal.meeting_at, deal.meeting_address = slot.starts_at, address.strip()


def _record_visit(lead: Lead, by: User, deal: Deal, now: datetime) -> None:
    """The booked visit on the lead's timeline: when (in the team's time), with whom, where.
    Dates and names read the same in every language, so the note is stored as shown."""
    if deal.meeting_at is None:  # _book set it; nothing to record otherwise
        return
    when = deal.meeting_at.astimezone(lead.team.zone)
    closer = person(deal.closer)
    LeadEvent.objects.create(
        lead=lead,
        actor=by,
        at=now,
        kind=LeadEvent.Kind.VISIT,
        note=f"{when:%d.%m.%Y %H:%M} · {closer} · {deal.meeting_address}",
    )


def _tell_closers(deal: Deal, now: datetime) -> None:
    """The closer a deal is given to hears of it at once; a pool deal goes to all closers."""
    closers = (
        [deal.closer]
        if deal.closer
        else list(deal.team.members.filter(groups__name=Role.CLOSER, is_active=True))
    )
    notify(
        (
            Message(
                recipient=user,
                kind="deal_new",
                message=gettext_noop("New deal handed off: %(contact)s."),
                params={"contact": deal.contact.name},
                url=reverse("deals:detail", args=[deal.pk]),
                team=deal.team,
            )
            for user in closers
        ),
        now,
    )
