"""The application's errors, at the bottom so every layer raises and handles the same ones.

Services raise them; one handler per kind of route answers them: `crm.lib.pages.act` for
pages (a message, or the form shown again), `crm.api.exception_handler` for the API.

| error | means | a page answers | the API answers |
|---|---|---|---|
| `NotAllowed` | the user sees the object but may not do this | the 403 page | 403 |
| `Conflict` | someone changed it first, or its state does not allow it | a message | 409 |
| `Blocked` | a transition's conditions do not hold | a message per reason | 409 + `reasons` |
| `BadInput` (Django's `ValidationError`) | a value breaks a rule | the form shows it (400) | 400 |

What the user may not see at all is a 404 (`Http404`, raised by the getters), never one of
these: a 403 would tell them it exists.
"""

from django.core.exceptions import PermissionDenied, ValidationError


class AppError(Exception):
    """Anything the application refuses on purpose, with a message for the user."""


class NotAllowed(AppError, PermissionDenied):
    """Refused to this user (a PermissionDenied, so Django and DRF answer 403)."""


class Conflict(AppError):
    """Someone else changed it first, or the action does not fit its state: reload and look."""


class Blocked(Conflict):
    """A transition whose conditions do not hold; `reasons` says what to do, one each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(str(reason) for reason in reasons))
        self.reasons = [str(reason) for reason in reasons]


# Bad input is Django's own ValidationError, which forms and model validation already raise:
# one name here so a service's signature says which kind of refusal it is.
BadInput = ValidationError
