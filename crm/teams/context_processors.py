from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from crm import access


def roles(request: HttpRequest) -> dict[str, object]:
    """`may`: which header links the user sees (crm/access.py `menu`). Lazy, so the htmx
    partials that never show the header never pay for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"may": SimpleLazyObject(lambda: access.menu(user))}
