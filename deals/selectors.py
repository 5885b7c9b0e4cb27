from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.http import Http404

from crm.teams.models import Team
from crm.teams.selectors import teams_for_user
from deals.models import Contact, Deal


def deals_visible_to(user: AbstractBaseUser) -> QuerySet[Deal]:
    return Deal.objects.filter(team__in=teams_for_user(user).filter(kind=Team.Kind.SALES))


def deal_get_for_user(user: AbstractBaseUser, pk: int) -> Deal:
    """The one way a page or API view fetches a deal: another team's deal is a 404."""
    try:
        return (
            deals_visible_to(user)
            .select_related("team", "contact", "company", "closer", "lead", "loss_reason")
            .get(pk=pk)
        )
    except (Deal.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def board(user: AbstractBaseUser, mine_only: bool) -> dict[str, list[Deal]]:
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


def contact_get_for_user(user: AbstractBaseUser, pk: int) -> Contact:
    """A person whose deals the user may see (through any of their deals)."""
    contacts = (
        Contact.objects.all()
        if user.is_superuser
        else Contact.objects.filter(deals__in=deals_visible_to(user))
    )
    contact = contacts.filter(pk=pk).first()
    if contact is None:
        raise Http404
    return contact
