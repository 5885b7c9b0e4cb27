from django.http import HttpRequest

from crm.teams.models import Role


def roles(request: HttpRequest) -> dict[str, bool]:
    """Which role-specific links the header shows."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    names = set(user.groups.values_list("name", flat=True))
    return {"is_sales_head": Role.SALES_HEAD in names}
