"""A record's timeline (a lead's, a deal's): its latest events, then "Earlier" pages back by
keyset (crm/lib/keyset.py), so a record with a thousand events renders fifty. The lead page
and the deal page, and their "Earlier" requests, are this one helper with their own events
and route."""

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.lib import keyset

TIMELINE_PAGE = 50
ITEMS_TEMPLATE = "includes/timeline_items.html"

# Entries of the record's timeline that are not rows of its events, from a moment (inclusive)
# to a moment (exclusive), None for no bound; each has the `at` the timeline sorts on.
Also = Callable[[datetime | None, datetime | None], list]


def timeline_page(
    events: QuerySet, earlier_route: str, pk: int, before: str = "", also: Also | None = None
) -> dict:
    """The page of `events` before the cursor `before` ("" for the latest), oldest of them
    first, and the URL of the page before it (`earlier_route` with the record's pk; "" when
    there is none). A cursor that is not one raises ValueError.

    `also` adds the entries of the span the page covers: from its oldest event (from the
    beginning on the last page) to where the newer page began (no end on the latest), so each
    entry shows on exactly one page."""
    # The rows' model may name relations its rows show beyond the caller's select_related (a
    # lead event: its attempt's call); crm/lib knows no app, so the model says which.
    events = events.select_related(*getattr(events.model, "timeline_related", ()))
    shown, cursor = keyset.page(events, "at", descending=True, after=before, size=TIMELINE_PAGE)
    entries = shown[::-1]
    if also is not None:
        until = keyset.parse_cursor(before)[0] if before else None
        since = shown[-1].at if cursor else None
        entries = sorted(entries + also(since, until), key=lambda entry: entry.at)
    earlier = ""
    if cursor:
        earlier = reverse(earlier_route, args=[pk]) + "?" + urlencode({"before": cursor})
    return {"events": entries, "earlier_url": earlier}


def earlier(
    request: HttpRequest, events: QuerySet, earlier_route: str, pk: int, also: Also | None = None
) -> HttpResponse:
    """The "Earlier" request of a timeline: the page before `?before=`, or a 400 for a
    mangled cursor."""
    try:
        context = timeline_page(events, earlier_route, pk, request.GET.get("before", ""), also)
    except ValueError:
        return HttpResponseBadRequest(_("This link is broken: open the page again."))
    return render(request, ITEMS_TEMPLATE, context)
