from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from crm import access
from crm.lib.errors import Conflict, NotAllowed
from crm.lib.transitions import transition_blockers as blockers_of
from crm.lib.transitions import transition_possible
from crm.teams.models import Team
from deals import alerts
from deals.models import (
    CloserStatus,
    Company,
    Contact,
    ContactPoint,
    Deal,
    DealEvent,
    LossReason,
    VisitSlot,
)
from leads import channels
from leads.models import Lead


def company_for_name(name: str, team: Team) -> Company | None:
    """The sales team's company of that name (any case), made when the team has none: another
    team's company of the same name is another row, so nothing of it shows here."""
    name = " ".join(name.split())
    if not name:
        return None
    company = Company.objects.filter(team=team, name__iexact=name).first()
    if company is None:
        try:
            with transaction.atomic():
                company = Company.objects.create(team=team, name=name)
        except IntegrityError:  # created by a concurrent conversion into this team a moment ago
            company = Company.objects.get(team=team, name__iexact=name)
    return company


def contact_for_lead(lead: Lead, company: Company | None, team: Team) -> Contact:
    """The lead's person as the receiving sales team knows them: found among the team's own
    contacts by any of the lead's phones or e-mails (its phones first, the primary one first),
    else created — never matched into another team's contacts. A person who moved to another
    company stays one contact; their current company is updated, and each phone or e-mail the
    contact lacks is added (unless another contact of the team holds it)."""
    points = [p.as_point() for p in lead.points.all()]
    phone, email = lead.phone, lead.email
    contact = _contact_matching(team, points)
    if contact is None:
        try:
            with transaction.atomic():
                contact = Contact.objects.create(
                    team=team, name=lead.name, phone=phone, email=email, company=company
                )
                ContactPoint.objects.bulk_create(
                    channels.point_rows(ContactPoint, points, contact=contact)
                )
                return contact
        except IntegrityError:  # the same person converted into this team concurrently
            contact = _contact_matching(team, points)
            if contact is None:  # not that race: a real integrity error
                raise
    team_contacts = Contact.objects.filter(team=team)
    changed = []
    if company is not None and contact.company_id != company.pk:
        contact.company = company
        changed.append("company")
    if email and not contact.email and not team_contacts.filter(email=email).exists():
        contact.email = email
        changed.append("email")
    if phone and not contact.phone and not team_contacts.filter(phone=phone).exists():
        contact.phone = phone
        changed.append("phone")
    if changed:
        contact.save(update_fields=changed)
    _add_points(contact, points, team)
    return contact


def _contact_matching(team: Team, points: list[channels.Point]) -> Contact | None:
    """The team's contact holding the first of these phones or e-mails that one holds."""
    if not points:
        return None
    values = [p.value for p in points]
    # The contact's own phone and e-mail columns too: a contact typed in the admin has no
    # points of its own.
    holders = {}
    for contact_id, phone, email in (
        Contact.objects.filter(team=team)
        .filter(Q(phone__in=values) | Q(email__in=values))
        .values_list("id", "phone", "email")
    ):
        holders.update({phone: contact_id, email: contact_id})
    holders.update(
        ContactPoint.objects.filter(contact__team=team, value__in=values).values_list(
            "value", "contact_id"
        )
    )
    found = next((holders[p.value] for p in points if p.value in holders), None)
    return None if found is None else Contact.objects.get(pk=found)


def _add_points(contact: Contact, points: list[channels.Point], team: Team) -> None:
    """The lead's phones and e-mails the contact lacks, after its own; a value another contact
    of the team holds stays with that one."""
    values = [p.value for p in points]
    held = set(
        ContactPoint.objects.filter(contact__team=team, value__in=values).values_list(
            "value", flat=True
        )
    )
    for phone, email in (
        Contact.objects.filter(team=team)
        .filter(Q(phone__in=values) | Q(email__in=values))
        .exclude(pk=contact.pk)
        .values_list("phone", "email")
    ):
        held |= {phone, email}
    new = [p for p in points if p.value not in held]
    if not new:
        return
    rows = channels.point_rows(ContactPoint, new, contact=contact)
    start = {
        kind: contact.points.filter(kind=kind).count() for kind in (channels.PHONE, channels.EMAIL)
    }
    for row in rows:
        row.position += start[row.kind]
    ContactPoint.objects.bulk_create(rows)


def deal_create_from_lead(
    *,
    lead: Lead,
    team: Team,
    by: User,
    closer: User | None = None,
    now: datetime,
) -> Deal:
    company = company_for_name(lead.company_name, team)
    contact = contact_for_lead(lead, company, team)
    deal = Deal.objects.create(
        team=team, lead=lead, contact=contact, company=company, closer=closer, created_at=now
    )
    deal_event(deal, by, DealEvent.Kind.CREATED, now, to_stage=deal.stage, closer=closer)
    return deal


class DealConflict(Conflict):
    """Someone else changed the deal first, or the action does not fit its stage."""


def check_hands(deal: Deal, by: User) -> None:
    """Only the deal's closer works it; its team's manager (and an admin) may step in."""
    if not access.works_deal(by, deal):
        raise NotAllowed(_("Only the deal's closer or the team's manager can do that."))


def deal_blockers(deal: Deal, name: str) -> list[str]:
    """Why the named stage transition cannot run now (empty: it can): the deal page's buttons
    and `deal_transition` ask the same question."""
    not_possible = _("Not possible for a deal that is %(stage)s.")
    return blockers_of(deal, name, not_possible=not_possible % {"stage": deal.get_stage_display()})


def deal_can(deal: Deal, name: str) -> bool:
    """Whether `deal_blockers` is empty, without making its messages (the board asks it of
    every card)."""
    return transition_possible(deal, name)


def deal_actions(deal: Deal, user: User) -> dict[str, bool]:
    """The deal page's buttons: shown when the user may (crm/access.py) and the stage allows."""
    works = access.works_deal(user, deal)
    still_in_pool = not deal_blockers(deal, "accept")
    return {
        "pick_up": still_in_pool and access.may_pick_up(user, deal),
        "reassign": still_in_pool and access.may_reassign(user, deal),
        **{
            action: works and not deal_blockers(deal, name)
            for action, name in (
                ("meeting", "set_meeting"),
                ("propose", "propose"),
                ("win", "win"),
                ("lose", "lose"),
            )
        },
        "note": works,
    }


def deal_event(deal: Deal, by: User | None, kind: str, now: datetime, **fields) -> None:
    DealEvent.objects.create(deal=deal, actor=by, at=now, kind=kind, **fields)


def deal_transition(
    *,
    deal: Deal,
    by: User,
    name: str,
    note: str = "",
    now: datetime | None = None,
    checked: bool = False,
    **arguments,
) -> Deal:
    """Move a deal a stage, with its event, in one transaction. Two people moving one deal at
    once: the UPDATE matches only the stage they saw, so exactly one wins."""
    now = now or timezone.now()
    method = getattr(deal, name)
    blockers = deal_blockers(deal, name)
    if blockers:
        raise DealConflict(" ".join(blockers))
    if name != "accept" and not checked:  # `checked`: the caller has its own rule (a ruling)
        check_hands(deal, by)
    from_stage = deal.stage
    with transaction.atomic():
        method(**arguments)
        if name == "accept":
            deal.accepted_at = now
        if not deal.is_open:
            deal.closed_at = now
        try:
            deal.save()
        except ConcurrentTransition:
            raise DealConflict(
                _("Someone else changed this deal a moment ago. Reload it and try again.")
            ) from None
        deal_event(
            deal,
            by,
            DealEvent.Kind.STAGE,
            now,
            from_stage=from_stage,
            to_stage=deal.stage,
            note=note,
            closer=deal.closer,
        )
        if name == "accept" or not deal.is_open:
            alerts.cancel_acceptance(deal, now)
    return deal


def deal_accept(*, deal: Deal, by: User, now: datetime | None = None) -> Deal:
    """Pick up: from the pool by any closer of the team, or the deal given to this closer."""
    if not access.member_of(by, deal.team):
        raise NotAllowed(_("Only a closer of the deal's team can pick it up."))
    with transaction.atomic():
        # Read who holds it under a row lock: a head reassigning it at this moment either
        # finishes first (and we see the new closer) or waits and then finds it picked up.
        holder = (
            Deal.objects.select_for_update().filter(pk=deal.pk).values_list("closer", flat=True)
        )
        if holder.first() not in (None, by.pk):
            raise DealConflict(_("This deal is given to another closer."))
        return deal_transition(deal=deal, by=by, name="accept", closer=by, now=now)


def deal_set_meeting(
    *, deal: Deal, by: User, at: datetime, address: str, now: datetime | None = None
) -> Deal:
    if not address.strip():
        raise ValidationError({"address": _("Where is the site visit?")})
    return deal_transition(
        deal=deal, by=by, name="set_meeting", at=at, address=address.strip(), now=now
    )


def deal_win(*, deal: Deal, by: User, amount: Decimal, now: datetime | None = None) -> Deal:
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("Enter the amount of the signed contract.")})
    return deal_transition(deal=deal, by=by, name="win", amount=amount, now=now)


def deal_lose(
    *,
    deal: Deal,
    by: User,
    reason: LossReason | None,
    note: str = "",
    now: datetime | None = None,
) -> Deal:
    if reason is None:
        raise ValidationError({"reason": _("Choose why the deal was lost.")})
    return deal_transition(deal=deal, by=by, name="lose", reason=reason, note=note, now=now)


def deal_note(*, deal: Deal, by: User, text: str, now: datetime | None = None) -> None:
    check_hands(deal, by)
    if not text.strip():
        raise ValidationError({"text": _("Write the note.")})
    deal_event(deal, by, DealEvent.Kind.NOTE, now or timezone.now(), note=text.strip())


def deal_assign(
    *,
    deal: Deal,
    by: User | None,
    closer: User | None,
    now: datetime | None = None,
) -> Deal:
    """Give a deal not yet picked up to a closer of its team, or back to the pool: the team's
    manager (or an admin) decides."""
    now = now or timezone.now()
    if by is not None and not access.may_reassign(by, deal):
        raise NotAllowed(_("Only the team's manager can reassign its deals."))
    if closer is not None and not deal.team.members.filter(pk=closer.pk).exists():
        raise ValidationError({"closer": _("This closer is not in the deal's team.")})
    with transaction.atomic():
        changed = Deal.objects.filter(pk=deal.pk, stage=Deal.Stage.HANDED_OFF).update(closer=closer)
        if not changed:
            raise DealConflict(_("Only a deal nobody has picked up yet can be reassigned."))
        deal.closer = closer
        deal_event(deal, by, DealEvent.Kind.ASSIGNED, now, closer=closer)
    return deal


def slots_add(*, closer: User, day, start, end, minutes: int, zone) -> int:
    """Open a day's free time for site visits, split into visits; existing slots stay."""
    begin = datetime.combine(day, start, tzinfo=zone)
    finish = datetime.combine(day, end, tzinfo=zone)
    step = timedelta(minutes=minutes)
    slots = []
    while begin + step <= finish:
        slots.append(VisitSlot(closer=closer, starts_at=begin, ends_at=begin + step))
        begin += step
    return len(VisitSlot.objects.bulk_create(slots, ignore_conflicts=True))


def slot_remove(*, closer: User, slot_id: int) -> None:
    """A free slot can be withdrawn; a booked one belongs to its deal."""
    VisitSlot.objects.filter(pk=slot_id, closer=closer, deal=None).delete()


def closer_set_available(*, closer: User, available: bool) -> None:
    CloserStatus.objects.update_or_create(closer=closer, defaults={"available": available})
