"""A user's own API token: issue (create or replace) and revoke. DRF's authtoken model keeps
one token per user; the key is shown once, by the page that issued it."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token


def token_issue(*, user: User) -> Token:
    """A new key for the user, replacing any old one (which stops working at once)."""
    with transaction.atomic():
        # Two clicks at once: the row lock makes the second wait and replace the first's key,
        # instead of failing on the one-token-per-user constraint (SQLite serialises writers).
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def token_revoke(*, user: User) -> bool:
    """Delete the user's token; True when there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
