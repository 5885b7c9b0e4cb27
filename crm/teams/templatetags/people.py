from django import template
from django.contrib.auth.models import User

register = template.Library()


@register.filter
def person(user: User | None) -> str:
    """How a colleague is named on a page: their full name, else their login."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
