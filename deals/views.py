from collections.abc import Callable
from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm import access
from crm.access import page_for
from crm.lib.http import AuthedRequest
from crm.lib.pages import act
from crm.lib.timeline import earlier, timeline_page
from crm.teams.models import Role
from deals import services
from deals.forms import LoseForm, MeetingForm, NoteForm, SlotsForm, WinForm
from deals.models import CloserStatus, Deal, DealEvent, VisitSlot
from deals.search import search_all
from deals.selectors import (
    BoardScope,
    Column,
    board_scope,
    column_count,
    contact_get_for_user,
    contact_history,
    deal_get_for_user,
    my_visits,
)
from deals.selectors import board as board_columns
from deals.selectors import board_column as board_page
from deals.services import deal_actions, deal_can
from leads.models import Lead
from leads.search import SearchError, parse_query


def _board_scope(request: AuthedRequest) -> tuple[BoardScope, bool, bool]:
    """The board's scope from the request: a head sees the team's deals unless they ask for
    the pool and their own (`?show=mine`); a closer always the pool and their own."""
    is_head = access.heads_teams(request.user)
    show_all = is_head and request.GET.get("show") != "mine"
    return board_scope(request.user, mine_only=not show_all), is_head, show_all


_PK = 987654321  # reversed once per page, replaced by each card's id


def _prepare_cards(request: AuthedRequest, deals: list[Deal]) -> None:
    """Each card's links and Pick up button, for a whole page of cards: the links from one
    reverse per page (a {% url %} per link was a tenth of the board's Python time), the button
    by the deal page's rule in one query (the user's teams; the stage rule reads nothing)."""
    detail = reverse("deals:detail", args=[_PK]).split(str(_PK))
    accept = reverse("deals:accept", args=[_PK]).split(str(_PK))
    team_ids = set(request.user.teams.values_list("pk", flat=True))
    for deal in deals:
        deal.detail_url = f"{detail[0]}{deal.pk}{detail[1]}"
        deal.accept_url = f"{accept[0]}{deal.pk}{accept[1]}"
        deal.can_pick_up = deal_can(deal, "accept") and access.may_pick_up(
            request.user, deal, team_ids=team_ids
        )


def _query(request: AuthedRequest) -> str:
    """The board's own address (its filters), without the pager's cursor."""
    query = request.GET.copy()
    query.pop("after", None)
    return query.urlencode()


@page_for(access.works_deals)
def board(request: AuthedRequest) -> HttpResponse:
    """The closer's board: the pool and their own deals by stage; a head sees the team's.
    Every column says how many deals it holds and pages through all of them."""
    scope, is_head, show_all = _board_scope(request)
    columns = board_columns(scope)
    _prepare_cards(request, [deal for column in columns for deal in column.deals])
    status = CloserStatus.objects.filter(closer=request.user).first()
    # The user's own site visits from today on, soonest first: on a phone they lead the page.
    today = timezone.localdate()
    since = timezone.make_aware(datetime.combine(today, time.min))
    visits, more_visits = my_visits(scope, since)
    for deal in visits:
        deal.is_today = timezone.localdate(deal.meeting_at) == today
    context = {
        "columns": columns,
        "visits": visits,
        "more_visits": more_visits,
        "show_all": show_all,
        "is_head": is_head,
        "query": _query(request),
        "keeps_slots": access.keeps_visit_slots(request.user),
        "available": status.available if status else True,
    }
    return render(request, "deals/board.html", context)


@page_for(access.works_deals)
def board_more(request: AuthedRequest, stage: str) -> HttpResponse:
    """ "Show more" of a column: the next page of cards after the cursor, and its own button."""
    if stage not in Deal.OPEN_STAGES:
        raise Http404
    scope, _is_head, _show_all = _board_scope(request)
    try:
        deals, next_cursor = board_page(scope, stage, after=request.GET.get("after", ""))
    except ValueError:
        return HttpResponseBadRequest(_("This link is broken: open the board again."))
    _prepare_cards(request, deals)
    column = Column(stage, Deal.Stage(stage).label, 0, deals, next_cursor)
    context = {"column": column, "query": _query(request)}
    return render(request, "deals/board.html#column-cards", context)


@page_for(access.works_deals)
def board_count(request: AuthedRequest, stage: str) -> HttpResponse:
    """The exact count of a column whose count the board capped ("500+"), in its place."""
    if stage not in Deal.OPEN_STAGES:
        raise Http404
    scope, _is_head, _show_all = _board_scope(request)
    column = Column(stage, Deal.Stage(stage).label, column_count(scope, stage), [], "")
    return render(request, "deals/board.html#column-count", {"column": column})


def _page(request: AuthedRequest, deal: Deal, status: int = 200, **forms) -> HttpResponse:
    handoff = getattr(deal, "handoff", None)
    lead = Lead.objects.get(pk=deal.lead_id)
    context = {
        "deal": deal,
        "handoff": handoff,
        "lead": lead,
        "answers": lead.answers.order_by("answered_at"),
        "attempts": lead.attempts.select_related("by", "call"),
        **timeline_page(_timeline_events(deal), "deals:timeline", deal.pk),
        "dispute": getattr(deal, "dispute", None),
        "meeting_form": forms.get("meeting_form")
        or MeetingForm(initial={"at": deal.meeting_at, "address": deal.meeting_address}),
        "win_form": forms.get("win_form") or WinForm(),
        "lose_form": forms.get("lose_form") or LoseForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "can": deal_actions(deal, request.user),
        "team_closers": deal.team.members.filter(groups__name=Role.CLOSER),
    }
    return render(request, "deals/deal_detail.html", context, status=status)


def _timeline_events(deal: Deal) -> QuerySet[DealEvent]:
    return deal.events.select_related("actor", "closer")


@login_required
def detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _page(request, deal_get_for_user(request.user, pk))


@login_required
def timeline(request: AuthedRequest, pk: int) -> HttpResponse:
    """ "Earlier" on the deal's timeline: the page of events before the cursor."""
    deal = deal_get_for_user(request.user, pk)
    return earlier(request, _timeline_events(deal), "deals:timeline", deal.pk)


def _act(
    request: AuthedRequest, deal: Deal, action: Callable[[], object], done: str, **forms
) -> HttpResponse:
    return act(
        request,
        action,
        done=done,
        back=reverse("deals:detail", args=[deal.pk]),
        page=lambda status: _page(request, deal, status=status, **forms),
        form=next(iter(forms.values()), None),
    )


@login_required
@require_POST
def accept(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    return _act(
        request,
        deal,
        lambda: services.deal_accept(deal=deal, by=request.user),
        _("The deal is yours."),
    )


@login_required
@require_POST
def meeting(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    form = MeetingForm(request.POST)
    if not form.is_valid():
        return _page(request, deal, status=400, meeting_form=form)
    return _act(
        request,
        deal,
        lambda: services.deal_set_meeting(
            deal=deal,
            by=request.user,
            at=form.cleaned_data["at"],
            address=form.cleaned_data["address"],
        ),
        _("Site visit set."),
        meeting_form=form,
    )


@login_required
@require_POST
def propose(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    return _act(
        request,
        deal,
        lambda: services.deal_transition(deal=deal, by=request.user, name="propose"),
        _("Proposal made."),
    )


@login_required
@require_POST
def win(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    form = WinForm(request.POST)
    if not form.is_valid():
        return _page(request, deal, status=400, win_form=form)
    return _act(
        request,
        deal,
        lambda: services.deal_win(deal=deal, by=request.user, amount=form.cleaned_data["amount"]),
        _("Won!"),
        win_form=form,
    )


@login_required
@require_POST
def lose(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    form = LoseForm(request.POST)
    if not form.is_valid():
        return _page(request, deal, status=400, lose_form=form)
    return _act(
        request,
        deal,
        lambda: services.deal_lose(
            deal=deal,
            by=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        ),
        _("Deal marked as lost."),
        lose_form=form,
    )


@login_required
@require_POST
def note(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _page(request, deal, status=400, note_form=form)
    return _act(
        request,
        deal,
        lambda: services.deal_note(deal=deal, by=request.user, text=form.cleaned_data["text"]),
        _("Note added."),
        note_form=form,
    )


@login_required
@require_POST
def assign(request: AuthedRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    access.require(access.may_reassign(request.user, deal))
    closer = (
        deal.team.members.filter(pk=request.POST.get("closer") or 0).first()
        if (request.POST.get("closer") or "").isdigit()
        else None
    )
    return _act(
        request,
        deal,
        lambda: services.deal_assign(deal=deal, by=request.user, closer=closer),
        _("Reassigned."),
    )


@page_for(access.keeps_visit_slots)
def slots(request: AuthedRequest) -> HttpResponse:
    """A closer's free time for site visits, which qualifiers book during the call."""
    form = SlotsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        made = services.slots_add(
            closer=request.user,
            day=data["day"],
            start=data["start"],
            end=data["end"],
            minutes=data["visit_minutes"],
            zone=timezone.get_current_timezone(),
        )
        messages.success(
            request,
            ngettext("%(count)d slot opened.", "%(count)d slots opened.", made) % {"count": made},
        )
        return redirect("deals:slots")
    upcoming = VisitSlot.objects.filter(
        closer=request.user, ends_at__gt=timezone.now()
    ).select_related("deal__contact")
    return render(
        request,
        "deals/slots.html",
        {"form": form, "slots": upcoming[:200]},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def slot_remove(request: AuthedRequest, slot_id: int) -> HttpResponse:
    services.slot_remove(closer=request.user, slot_id=slot_id)
    return redirect("deals:slots")


@login_required
@require_POST
def availability(request: AuthedRequest) -> HttpResponse:
    services.closer_set_available(
        closer=request.user, available=request.POST.get("available") == "1"
    )
    return redirect("deals:board")


@login_required
def contact(request: AuthedRequest, pk: int) -> HttpResponse:
    """A person's history as their sales team knows it: every deal and lead of theirs the
    user may see, across the companies they worked for."""
    person = contact_get_for_user(request.user, pk)
    deals, leads = contact_history(request.user, person)
    return render(
        request, "deals/contact.html", {"contact": person, "deals": deals, "leads": leads}
    )


@login_required
def search(request: AuthedRequest) -> HttpResponse:
    """The header's search box: leads, deals and contacts the user may see, newest first in
    each group, what matched shown in each row. An empty or too short query is answered with
    what to type, never an error."""
    typed = request.GET.get("q", "")
    menu = access.menu(request.user)  # the header's, asked once: which groups to search too
    access.require(menu["search"])  # access.may_search, without asking twice
    context: dict[str, object] = {"q": typed.strip(), "search_q": typed.strip(), "may": menu}
    try:
        query = parse_query(typed)
    except SearchError as error:
        context["problem"] = error.messages[0]
    else:
        context["results"] = search_all(request.user, query, menu=menu)
    return render(request, "search.html", context)
