"""The one handler of the application's errors for pages (the API's is crm/api.py)."""

from collections.abc import Callable

from django import forms as django_forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from crm.lib.errors import BadInput, Blocked, Conflict


def act(
    request: HttpRequest,
    action: Callable[[], object],
    *,
    done: str,
    back: str,
    page: Callable[..., HttpResponse] | None = None,
    form: django_forms.Form | None = None,
) -> HttpResponse:
    """Run a service for a page and answer as every page does:
    - done: the success message `done` (if any), and back to `back` (a URL);
    - `Blocked`: one message per reason, back; `Conflict`: its message, back;
    - bad input (`ValidationError`): onto `form`'s fields and `page(status=400)` shows it
      again, nothing typed lost — or, with no form to hold it, a message and back;
    - `NotAllowed` is not caught: the 403 page (templates/403.html) answers it."""
    try:
        action()
    except Blocked as blocked:
        for reason in blocked.reasons:
            messages.error(request, reason)
    except Conflict as conflict:
        messages.error(request, str(conflict))
    except BadInput as error:
        if form is not None and page is not None and hasattr(error, "error_dict"):
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return page(status=400)
        messages.error(request, " ".join(error.messages))
    else:
        if done:  # "": the caller words the success itself (it needs the result)
            messages.success(request, done)
    return redirect(back)
