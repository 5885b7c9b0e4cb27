from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from crm.teams.models import Team
from crm.teams.selectors import teams_for_user
from deals.models import Deal


def deals_visible_to(user: AbstractBaseUser) -> QuerySet[Deal]:
    return Deal.objects.filter(team__in=teams_for_user(user).filter(kind=Team.Kind.SALES))
