from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from deals.models import Deal
from deals.selectors import deals_visible_to


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """The sales team's deals by stage (picking up and moving them comes with the closers' side)."""
    deals = deals_visible_to(request.user).select_related("contact", "company", "closer", "team")
    columns = [
        (stage, label, [d for d in deals.filter(stage=stage).order_by("-created_at")[:50]])
        for stage, label in Deal.Stage.choices
    ]
    return render(request, "deals/board.html", {"columns": columns})
