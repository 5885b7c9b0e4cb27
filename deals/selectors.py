from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404

from crm import access
from crm.teams.models import Team
from crm.teams.selectors import teams_for_user
from deals.models import Contact, Deal
from leads.selectors import leads_visible_to


def deals_visible_to(user: User) -> QuerySet[Deal]:
    return Deal.objects.filter(team__in=teams_for_user(user).filter(kind=Team.Kind.SALES))


def deal_get_for_user(user: User, pk: int) -> Deal:
    """The one way a page or API view fetches a deal: another team's deal is a 404."""
    try:
        return (
            deals_visible_to(user)
            .select_related("team", "contact", "company", "closer", "lead", "loss_reason")
            .get(pk=pk)
        )
    except (Deal.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def board(user: User, mine_only: bool) -> dict[str, list[Deal]]:
    """The open deals by stage: the pool (handed off to nobody), and what each closer holds."""
    deals = (
        deals_visible_to(user)
        .filter(stage__in=Deal.OPEN_STAGES)
        .select_related("contact", "company", "closer", "lead")
        .order_by("meeting_at", "-created_at")
    )
    if mine_only:
        deals = deals.filter(Q(closer=user) | Q(closer=None))
    columns: dict[str, list[Deal]] = {stage: [] for stage in Deal.OPEN_STAGES}
    for deal in deals[:500]:
        columns[deal.stage].append(deal)
    return columns


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    """A contact belongs to one sales team: it is seen by whoever sees that team's deals (its
    closers, its manager, an admin) — never through another team's deal of the same person."""
    if access.is_admin(user):
        return Contact.objects.all()
    return Contact.objects.filter(team__in=teams_for_user(user).filter(kind=Team.Kind.SALES))


def contact_get_for_user(user: User, pk: int) -> Contact:
    """The one way a page fetches a contact: another team's contact is a 404."""
    try:
        return contacts_visible_to(user).select_related("team", "company").get(pk=pk)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def contact_history(user: User, contact: Contact) -> tuple[QuerySet, QuerySet]:
    """The contact's deals (all of its own team's), and the leads the user may see that are
    this person in that team's eyes: the leads of those deals, and the leads with one of the
    contact's phones or e-mails from a qualification team that hands off to the team."""
    deals = (
        deals_visible_to(user)
        .filter(contact=contact)
        .select_related("company", "team", "closer")
        .order_by("-created_at")
    )
    same_person = Q(pk__in=deals.values("lead"))
    if contact.team_id is not None:
        reach = Q(team__hands_off_to=contact.team_id)
        if contact.phone:
            same_person |= reach & Q(phone=contact.phone)
        if contact.email:
            same_person |= reach & Q(email=contact.email)
    leads = (
        leads_visible_to(user)
        .filter(same_person)
        .distinct()
        .select_related("source")
        .order_by("-created_at")[:100]
    )
    return deals, leads
