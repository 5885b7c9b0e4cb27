from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.lib.http import AuthedRequest
from crm.notifications.models import Notification

PAGE = 100


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at=None).count()


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    notifications = Notification.objects.filter(recipient=request.user).order_by("-created_at")
    return render(
        request,
        "notifications/inbox.html",
        {
            "notifications": notifications[:PAGE],
            "unread": unread_count(request.user),
        },
    )


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
    Notification.objects.filter(recipient=request.user, read_at=None).update(read_at=timezone.now())
    return redirect("notifications:inbox")
