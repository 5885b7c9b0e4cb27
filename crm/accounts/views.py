from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.models import Token

from crm.accounts.services import token_issue, token_revoke
from crm.lib.http import AuthedRequest

# The new key waits in the session (stored server-side, in the database that holds the token
# anyway) for the one page that shows it: Post/Redirect/Get, so a reload neither re-posts (and
# replaces the key just copied) nor shows the key again.
NEW_KEY = "new_api_token"


def _page(request: AuthedRequest, status: int = 200) -> HttpResponse:
    context = {
        "token": Token.objects.filter(user=request.user).first(),
        "new_key": request.session.pop(NEW_KEY, None),
        "api_root": request.build_absolute_uri(reverse("api:api-root")),
    }
    return render(request, "account/profile.html", context, status=status)


@login_required
@require_GET
def profile(request: AuthedRequest) -> HttpResponse:
    """Whether the user has an API token; its key only once, right after it was issued (pages
    are sent with Cache-Control: no-store, so Back does not show it again either)."""
    return _page(request)


@login_required
@require_POST
def token(request: AuthedRequest) -> HttpResponse:
    action = request.POST.get("action")
    if action == "issue":
        request.session[NEW_KEY] = token_issue(user=request.user).key
        return redirect("accounts:profile")
    if action == "revoke":
        request.session.pop(NEW_KEY, None)
        if token_revoke(user=request.user):
            messages.success(request, _("Your API token was revoked: it no longer works."))
        return redirect("accounts:profile")
    messages.error(request, _("Choose to create or to revoke the token."))
    return _page(request, status=400)
