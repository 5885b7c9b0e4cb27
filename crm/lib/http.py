"""Typed requests for the views behind a login, for the type checker (nothing changes at run
time). `login_required` and DRF's default `IsAuthenticated` guarantee a logged-in user, which
the stubs cannot know: annotated with these, a view reads `request.user` as a User rather than
`User | AnonymousUser`, and `request.htmx` as django-htmx's middleware sets it."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


class AuthedApiRequest(Request):
    user: User  # the stubs declare a property; IsAuthenticated narrows it


def api_user(request: Request) -> User:
    """The user of an API request behind IsAuthenticated, for function views (`api_view`
    types its request as a plain Request); an anonymous one is refused, never passed on."""
    if not isinstance(request.user, User):
        raise NotAuthenticated
    return request.user
