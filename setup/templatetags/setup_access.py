"""Templates ask `setup.access`; they never decide who may do what themselves."""

from typing import Any

from django import template

from setup import access

register = template.Library()


@register.filter
def settings_admin(user: Any) -> bool:
    return access.is_admin(user)
