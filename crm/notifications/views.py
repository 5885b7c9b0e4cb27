from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.lib.http import AuthedRequest
from crm.notifications import groups
from crm.notifications.models import Notification

PAGE = 100


def unread_count(user) -> int:
    """What the bell shows: the inbox's lines with something unread, not every row."""
    return groups.unread_groups(user)


def _filters(data) -> tuple[str, str, str]:
    """The kind and group asked for, and an error for a value that names none."""
    kind, key = data.get("kind", ""), data.get("group", "")
    if kind and kind not in groups.KINDS:
        return "", "", _("There is no such kind of notification; showing them all.")
    if key and groups.in_group(Notification.objects.none(), key) is None:
        return kind, "", _("There is no such group of notifications; showing them all.")
    return kind, key, ""


def _kinds(user: User) -> list[tuple[str, str | Promise, int]]:
    """The kind filter's choices with each one's unread count."""
    unread = groups.unread_by_kind(user)
    return [(kind, label, unread.get(kind, 0)) for kind, label in groups.KINDS.items()]


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    """A person's notifications grouped by kind, team and hour, newest first; filtered by
    kind, or unread only; one group opened as its notifications."""
    kind, key, error = _filters(request.GET)
    unread_only = request.GET.get("unread") == "1"
    rows = groups.mine(request.user, kind, unread_only)
    context = {
        "kinds": _kinds(request.user),
        "kind": kind,
        "unread_only": unread_only,
        "unread": unread_count(request.user),
        "error": error,
    }
    if key:
        context["group"] = key
        # _filters let through only a key that is a group's: in_group answers a queryset.
        in_group = cast(QuerySet, groups.in_group(rows, key))
        context["notifications"] = in_group.order_by("-created_at")[:PAGE]
    else:
        context["groups"] = groups.groups(rows, PAGE)
    return render(request, "notifications/inbox.html", context, status=400 if error else 200)


@login_required
def badge(request: AuthedRequest) -> HttpResponse:
    """The bell's count, polled by every page's header."""
    return render(request, "notifications/badge.html", {"unread": unread_count(request.user)})


@login_required
def open_notification(request: AuthedRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk).update(read_at=timezone.now())
    return redirect(notification.url or "notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: AuthedRequest) -> HttpResponse:
    """Mark read: everything, one kind (`kind`), or one group (`group`)."""
    kind, key, error = _filters(request.POST)
    back = reverse("notifications:inbox")
    if error:  # a filter that names nothing marks nothing, and says so
        messages.error(request, _("Nothing was marked as read: %(error)s") % {"error": error})
        return redirect(back)
    rows = groups.mine(request.user, kind).filter(read_at=None)
    if key:  # a key that is a group's (_filters): in_group answers a queryset
        rows = cast(QuerySet, groups.in_group(rows, key))
    rows.update(read_at=timezone.now())
    return redirect(f"{back}?{urlencode({'kind': kind})}" if kind else back)
