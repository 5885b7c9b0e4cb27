from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.models import Token

from crm.accounts.services import token_issue, token_revoke


def _page(request: HttpRequest, new_key: str | None = None, status: int = 200) -> HttpResponse:
    context = {
        "token": Token.objects.filter(user=request.user).first(),
        "new_key": new_key,
        "api_root": request.build_absolute_uri(reverse("api:api-root")),
    }
    return render(request, "account/profile.html", context, status=status)


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    """Whether the user has an API token (never its key: that is shown once, when issued)."""
    return _page(request)


@login_required
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action")
    if action == "issue":
        # Rendered, not redirected: the key must not travel through the session or a URL.
        # Pages are sent with Cache-Control: no-store, so Back does not show it again.
        return _page(request, new_key=token_issue(user=request.user).key)
    if action == "revoke":
        if token_revoke(user=request.user):
            messages.success(request, _("Your API token was revoked: it no longer works."))
        return redirect("accounts:profile")
    messages.error(request, _("Choose to create or to revoke the token."))
    return _page(request, status=400)
