"""REST API v1 for leads and their reference lists. Same scoping and services as the pages."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import cast

import django_filters
from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection, transaction
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import JSONArray
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api import IdOrSlugField, NewestFirst, SaneDateTimeFilter
from crm.lib.http import AuthedApiRequest, api_user
from leads import channels, exports, services
from leads.models import (
    ContactAttempt,
    Criterion,
    CriterionOption,
    ExportJob,
    JunkReason,
    Lead,
    LeadContactPoint,
    LeadSource,
)
from leads.search import (
    RECENT_DAYS,
    WORDS,
    Arrival,
    Query,
    SearchError,
    Window,
    arrival_bound,
    bucket_keys,
    last_digits,
    lead_match,
    lead_window,
    parse_query,
)
from leads.selectors import lead_get_for_user, lead_team_ids, leads_visible_to, queue_teams


class PhoneSerializer(serializers.Serializer):
    number = serializers.CharField(source="value", help_text="E.164")
    kind = serializers.ChoiceField(source="label", choices=channels.Label.choices)
    ext = serializers.CharField(help_text="the extension, empty when none")


class EmailSerializer(serializers.Serializer):
    address = serializers.CharField(source="value")
    kind = serializers.ChoiceField(source="label", choices=channels.Label.choices)


class LeadSerializer(serializers.ModelSerializer):
    # `source` is also Field's own attribute in the stubs (a field may be named so)
    source: "serializers.SlugRelatedField[LeadSource]" = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True
    )
    junk_reason: "serializers.SlugRelatedField[JunkReason]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    phone = serializers.CharField(read_only=True, help_text="the primary (first) phone, E.164")
    email = serializers.CharField(read_only=True, help_text="the primary (first) e-mail")
    phones = serializers.SerializerMethodField(help_text="every phone, the primary one first")
    emails = serializers.SerializerMethodField(help_text="every e-mail, the primary one first")

    # The points as PhoneSerializer and EmailSerializer (the schema's) give them, written out:
    # a serializer made for each lead's points built its fields each time, 0.7 ms a lead
    # (a page of 50: 35 ms, half the request).
    @extend_schema_field(PhoneSerializer(many=True))
    def get_phones(self, lead: Lead) -> list[dict]:
        return [
            {"number": p.value, "kind": p.label, "ext": p.ext}
            for p in lead.points.all()
            if p.kind == channels.PHONE
        ]

    @extend_schema_field(EmailSerializer(many=True))
    def get_emails(self, lead: Lead) -> list[dict]:
        return [
            {"address": p.value, "kind": p.label}
            for p in lead.points.all()
            if p.kind == channels.EMAIL
        ]

    class Meta:
        model = Lead
        fields = [
            "id",
            "team",
            "source",
            "name",
            "phone",
            "email",
            "company_name",
            "message",
            "state",
            "score",
            "temperature",
            "assignee",
            "duplicate_of",
            "junk_reason",
            "created_at",
            "due_at",
            "warn_at",
            "breach_at",
            "first_attempt_at",
            "closed_at",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_content",
            "utm_term",
            "phone_ext",
            "form_answers",
            "contact_problems",
            "phones",
            "emails",
            "imported_history",
            "imported_status",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "imported_history": {
                "help_text": "Imported already converted in another CRM: state `converted` "
                "with no deal here."
            },
            "imported_status": {
                "help_text": "The status in the CRM the lead was imported from, as written."
            },
        }


class AttemptSerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    duration_s = serializers.IntegerField(min_value=0, max_value=6 * 3600, default=0)
    note = serializers.CharField(allow_blank=True, default="", max_length=5000)
    callback_at = serializers.DateTimeField(allow_null=True, default=None)

    class Meta:
        model = ContactAttempt
        fields = ["id", "outcome", "duration_s", "note", "callback_at", "at", "by"]
        read_only_fields = ["id", "at", "by"]


class AnswerInputSerializer(serializers.Serializer):
    criterion = IdOrSlugField(slug_field="slug", queryset=Criterion.objects.filter(active=True))
    value = serializers.CharField(max_length=500)


class AnswerSerializer(serializers.Serializer):
    criterion = serializers.CharField(source="criterion.slug", allow_null=True)
    question = serializers.CharField()
    value = serializers.CharField()
    label = serializers.CharField(source="shown")  # type: ignore[assignment]
    verdict = serializers.CharField()
    points = serializers.IntegerField()
    knocked_out = serializers.BooleanField()
    score = serializers.IntegerField(source="lead.score")
    temperature = serializers.CharField(source="lead.temperature")


class JunkInputSerializer(serializers.Serializer):
    reason = IdOrSlugField(slug_field="slug", queryset=JunkReason.objects.filter(active=True))
    note = serializers.CharField(allow_blank=True, default="", max_length=5000)


def search_filter(queryset, _name: str, value: str, match):
    """`?q=`: leads.search's reading of the query, a short one a 400 naming what to type."""
    try:
        query = parse_query(value)
    except SearchError as error:
        raise serializers.ValidationError({"q": error.messages}) from None
    return match(queryset, query)


SEARCH_HELP = (
    "Search, as the header's box does: a phone in any written form (at least 4 digits: a "
    "whole number matches exactly, fewer digits the end of any of the phones, e.g. the "
    "last four, and from 6 digits on also anywhere in one), an e-mail (a query with `@`: "
    "a whole address or a part of one, any of the "
    "e-mails), or words (each the beginning of a word of the name, company or primary "
    "e-mail; any case, ё as е; at least one word of 3 letters). Results stay scoped to what "
    "the user may see. A query too short for that is a 400 naming what to type."
)


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", help_text=SEARCH_HELP, max_length=100
    )
    source = django_filters.CharFilter(field_name="source__slug")
    created_after = SaneDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = SaneDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields = ["q", "state", "team", "assignee", "source", "created_after", "created_before"]

    def search(self, queryset, name: str, value: str):
        return search_filter(queryset, name, value, lead_match)


class NewestMatchesFirst(NewestFirst):
    """NewestFirst, the same cursors and pages, for a search (`?q=`): its matches sorted by
    an arrival no index holds (`leads.search.Arrival`, annotated as `arrival`), as the search
    page sorts them, so that the planner reads the matches through the search's indexes and
    sorts those, never walks the created_at index backwards testing every lead until a page
    matched (a common surname: 0.9–2.3 s p95 at 1M). The cursor's position is the same
    moment of arrival, so a cursor means what it meant."""

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get("q"):
            queryset = queryset.annotate(arrival=Arrival(F("created_at")))
        return super().paginate_queryset(queryset, request, view)

    def get_ordering(self, request, queryset, view):
        if "arrival" in queryset.query.annotations:
            return ("-arrival", "-id")
        return super().get_ordering(request, queryset, view)


# The lead's own columns the API's rows show (`lead_rows`), besides its source's and junk
# reason's slugs and its phones and e-mails.
ROW_COLUMNS = (
    "id",
    "team_id",
    "name",
    "phone",
    "email",
    "company_name",
    "message",
    "state",
    "score",
    "temperature",
    "assignee_id",
    "duplicate_of_id",
    "created_at",
    "due_at",
    "warn_at",
    "breach_at",
    "first_attempt_at",
    "closed_at",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "phone_ext",
    "form_answers",
    "contact_problems",
    "imported_history",
    "imported_status",
)


# The order of a lead's phones and e-mails, as `lead.points.all()` gives them.
POINTS_ORDER = tuple(LeadContactPoint._meta.ordering or ())


def lead_values(leads: QuerySet[Lead]) -> QuerySet:
    """The leads as the values their API rows are written from (`lead_rows`): plain dicts of
    the columns, the source's and junk reason's slugs, and on PostgreSQL the lead's
    phones and e-mails (`all_points`: [kind, label, value, ext] in their order, read through
    `lead_point_export`), so that a page is one statement — under load each statement more
    waited ~10 ms for a core. Model objects (and, through `select_related`, a source with its
    JSON field map for every lead) cost ~10 ms of Python a page of 50 where the SQL took 1.5
    ms. The cursor pagination reads a dict's position as it reads an object's (`created_at`,
    or the search's `arrival`, annotated after this)."""
    # The slugs as subqueries, not joins: a join stays in a statement that reads only the
    # keys (the windows' `_first_keys`); a subquery left out of its SELECT leaves no trace.
    values = leads.values(
        *ROW_COLUMNS,
        source_slug=_slug_of(LeadSource, "source_id"),
        junk_reason_slug=_slug_of(JunkReason, "junk_reason_id"),
    )
    if connection.vendor != "postgresql":
        return values  # lead_rows reads the page's points in one statement more
    points = (
        LeadContactPoint.objects.filter(lead=OuterRef("pk"))
        .order_by()
        .values("lead")
        .annotate(
            points=JSONBAgg(JSONArray("kind", "label", "value", "ext"), order_by=POINTS_ORDER)
        )
        .values("points")
    )
    return values.annotate(all_points=Subquery(points))


def _slug_of(model: type[LeadSource] | type[JunkReason], column: str) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef(column)).order_by().values("slug"))


def lead_rows(leads: list[dict]) -> list[dict]:
    """A page of leads (`lead_values`) as `LeadSerializer` gives them, byte for byte once
    rendered (the same fields in its order, the same values: `tests/leads/test_api_rows.py`
    compares the two), written out: DRF built the serializer's 32 fields for each request and
    ran each field's `get_attribute` and `to_representation` for each lead, 19–25 ms of a ~60
    ms page of 50 (2 cores under load). The serializer stays what the schema is made from and
    what one lead's answers use. The page's phones and e-mails are one read of plain values:
    prefetching them made a queryset and model objects for every lead and point."""
    zone = timezone.get_current_timezone()  # as DRF's DateTimeField: the request's zone
    if leads and "all_points" not in leads[0]:  # SQLite: one statement more
        points = _points_of([lead["id"] for lead in leads])
    else:
        points = {lead["id"]: _points_split(lead["all_points"] or ()) for lead in leads}
    rows = []
    for lead in leads:
        phones, emails = points.get(lead["id"]) or ([], [])
        rows.append(
            {
                "id": lead["id"],
                "team": lead["team_id"],
                "source": lead["source_slug"],
                "name": lead["name"],
                "phone": lead["phone"],
                "email": lead["email"],
                "company_name": lead["company_name"],
                "message": lead["message"],
                "state": lead["state"],
                "score": lead["score"],
                "temperature": lead["temperature"],
                "assignee": lead["assignee_id"],
                "duplicate_of": lead["duplicate_of_id"],
                "junk_reason": lead["junk_reason_slug"],
                "created_at": _moment(lead["created_at"], zone),
                "due_at": _moment(lead["due_at"], zone),
                "warn_at": _moment(lead["warn_at"], zone),
                "breach_at": _moment(lead["breach_at"], zone),
                "first_attempt_at": _moment(lead["first_attempt_at"], zone),
                "closed_at": _moment(lead["closed_at"], zone),
                "utm_source": lead["utm_source"],
                "utm_medium": lead["utm_medium"],
                "utm_campaign": lead["utm_campaign"],
                "utm_content": lead["utm_content"],
                "utm_term": lead["utm_term"],
                "phone_ext": lead["phone_ext"],
                "form_answers": lead["form_answers"],
                "contact_problems": lead["contact_problems"],
                "phones": phones,
                "emails": emails,
                "imported_history": lead["imported_history"],
                "imported_status": lead["imported_status"],
            }
        )
    return rows


def _points_of(lead_ids: list[int]) -> dict[int, tuple[list[dict], list[dict]]]:
    """Each lead's phones and e-mails as `LeadSerializer.get_phones` / `get_emails` give
    them, in the points' own order (kind, position, id: the same as `lead.points.all()`)."""
    by_lead: dict[int, list] = {}
    rows = LeadContactPoint.objects.filter(lead_id__in=lead_ids).values_list(
        "lead_id", "kind", "label", "value", "ext"
    )
    for lead_id, *point in rows:
        by_lead.setdefault(lead_id, []).append(point)
    return {lead_id: _points_split(points) for lead_id, points in by_lead.items()}


def _points_split(points) -> tuple[list[dict], list[dict]]:
    """A lead's points ([kind, label, value, ext], in order) as its phones and its e-mails."""
    phones, emails = [], []
    for kind, label, value, ext in points:
        if kind == channels.PHONE:
            phones.append({"number": value, "kind": label, "ext": ext})
        elif kind == channels.EMAIL:
            emails.append({"address": value, "kind": label})
    return phones, emails


def _moment(value: datetime | None, zone: tzinfo) -> str | None:
    """A moment as DRF's DateTimeField writes it (ISO 8601 in the current zone, UTC as `Z`).
    The database gives aware moments (USE_TZ), which DRF converts the same way."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class NewestLeadMatchesFirst(NewestMatchesFirst):
    """NewestMatchesFirst for the leads, whose words queries (a surname: thousands of matches
    at 1M leads) are read in windows of arrival, so that a page sorts a window's matches, not
    all of them. A window starts at the cursor's position — on the first page, at the newest
    arrival among the user's teams (`arrival_bound`) — and reaches `FIRST_DAYS` days back
    (forward: a `next` link's page) or ahead (back: a `previous` link's). When it holds fewer
    matches than the cursor's offset, the page and one, it is the answer if it reaches past
    the user's oldest lead (forward) or newest (back); else the next window is the first of
    `RECENT_DAYS` (30, 90, 365) wider than twice what its matches say the page needs — none
    when that is wider than a year or its matches say a year holds at most `FEW_A_YEAR` (a
    rare query). Then every match on that side of the cursor is read: from the teams' buckets
    of all the months up to the user's oldest (newest) lead when they are at most
    `MAX_WINDOW_BUCKETS` team-months (a qualifier: their team's matches, not every team's),
    else all the matches sorted, as before. A window is a condition on the words index
    (`leads.search.lead_window`): the teams' buckets of its months, read alone; with other
    filters than `q`, or for teams × months more than `MAX_WINDOW_BUCKETS`, its arrival words
    beside the match, up to `MAX_MATCH_WINDOW_DAYS` (a longer one reads about what all the
    matches read).

    A window's matches from the cursor on are the first of all the matches from the cursor
    on (it holds every match from its first day up to the cursor), so a full window holds
    what all the matches give the page: their keys are read, then the leads by key, paged as
    NewestMatchesFirst pages them — the same page, the same cursors."""

    FIRST_DAYS = 7
    FEW_A_YEAR = 1000
    MAX_MATCH_WINDOW_DAYS = 30

    def paginate_queryset(self, queryset, request, view=None):
        query = _search(request)
        if query is not None and last_digits(query):
            queryset = queryset.filter(pk__in=self._first_match_keys(queryset, request))
        elif query is not None and query.kind == WORDS:
            team_ids = lead_team_ids(api_user(request))
            keys = self._window_keys(queryset, request, team_ids)
            if keys is not None:
                # The keys are the user's teams' matches already (their buckets, or the
                # scoped queryset); the scope is said again so no read path can widen it.
                keys_in_scope = Lead.objects.filter(pk__in=keys, team__in=team_ids)
                queryset = lead_values(keys_in_scope)
        return super().paginate_queryset(queryset, request, view)

    def _first_match_keys(self, queryset: QuerySet, request: Request) -> list[int]:
        """The keys of the first matches the page needs (the cursor's offset, the page and
        one), read from all the matches: for a phone's last digits, from the indexes alone
        (`leads.search.lead_match`), so that only the page's leads are then read from the
        table, where sorting the matches read every match's row (~1,000 at 10M leads)."""
        offset, reverse, position = self.decode_cursor(request) or (0, False, None)
        after = parse_datetime(str(position)) if position is not None else None
        wanted = offset + (self.get_page_size(request) or self.page_size) + 1
        return self._first_keys(None, queryset, after, reverse, wanted)

    def _window_keys(self, queryset, request: Request, team_ids: list[int]) -> list[int] | None:
        """The keys of the first matches the page needs (the cursor's offset, the page and
        one), read from the narrowest window that holds them; None: all matches are read."""
        query = _search(request)
        page_size = self.get_page_size(request)
        if query is None or query.kind != WORDS or not page_size:
            return None
        offset, reverse, position = self.decode_cursor(request) or (0, False, None)
        # Only `q` filters: the buckets alone are the matches within the user's teams.
        alone = not any(
            request.query_params.get(name) for name in LeadFilter.base_filters if name != "q"
        )
        wanted = offset + page_size + 1
        if position is not None:
            anchor = parse_datetime(str(position))
        else:
            anchor = None if reverse else arrival_bound(team_ids)
        if anchor is None:
            return None
        day, days, read, keys = anchor.astimezone(UTC).date(), self.FIRST_DAYS, "", []
        far: date | None = None  # the UTC day of the user's newest (back) or oldest lead
        after = anchor if position is not None else None
        with _no_parallel_workers():
            while days:
                ahead, back = (
                    (timedelta(days), timedelta(0)) if reverse else (timedelta(0), timedelta(days))
                )
                first, last = day - back, day + ahead
                window = lead_window(query, first, last, team_ids, alone)
                if not window.alone and days > self.MAX_MATCH_WINDOW_DAYS:
                    break  # beside the match, a longer window reads about what all read
                if window.reads != read:  # a wider window of the same months reads the same
                    read = window.reads
                    keys = self._first_keys(window, queryset, after, reverse, wanted)
                    if len(keys) == wanted:
                        return keys
                    far = far or self._far_day(team_ids, reverse, day)
                    if (last >= far) if reverse else (first <= far):
                        return keys  # every match there is on this side of the cursor
                days = self._wider(days, len(keys), wanted)
            # All the matches on this side of the cursor: read from the buckets of all the
            # months up to the user's oldest (newest) lead when they are few enough (a
            # qualifier's team: its matches, where the words are every team's).
            far = far or self._far_day(team_ids, reverse, day)
            first, last = (day, far) if reverse else (far, day)
            window = lead_window(query, first, last, team_ids, alone)
            if window.alone:
                return self._first_keys(window, queryset, after, reverse, wanted)
        return None

    @staticmethod
    def _far_day(team_ids: list[int], reverse: bool, day: date) -> date:
        """The UTC day of the newest (`reverse`) or oldest arrival among the user's teams."""
        bound = arrival_bound(team_ids, newest=reverse)
        return bound.astimezone(UTC).date() if bound else day

    @staticmethod
    def _first_keys(
        window: Window | None,
        queryset: QuerySet[Lead],
        after: datetime | None,
        reverse: bool,
        wanted: int,
    ) -> list[int]:
        """The keys of the first `wanted` matches in the window (None: all the matches) after
        the cursor's position (`after`), in the page's order (back: the oldest first)."""
        if window is not None and window.alone:  # the buckets' tsquery
            return bucket_keys(window.reads, after, reverse, wanted)
        rows = queryset if window is None else queryset.filter(window.condition)
        rows = rows.annotate(arrival=Arrival(F("created_at")))
        if after is not None:
            rows = rows.filter(arrival__gt=after) if reverse else rows.filter(arrival__lt=after)
        ordering = ("arrival", "id") if reverse else ("-arrival", "-id")
        return list(rows.order_by(*ordering).values_list("pk", flat=True)[:wanted])

    @staticmethod
    def _wider(days: int, found: int, wanted: int) -> int:
        """The days of the next window: of `RECENT_DAYS`, the first wider than twice what this
        window's matches say the page needs; 0 (all the matches) when none is, or when they
        say a year holds at most `FEW_A_YEAR` (sorting those is cheaper than another window
        or two: a rare query, a name and surname)."""
        if found * 365 / days <= NewestLeadMatchesFirst.FEW_A_YEAR:
            return 0
        needed = 2 * days * wanted / found
        return next((wider for wider in RECENT_DAYS if wider > max(days, needed)), 0)


def _search(request: Request) -> Query | None:
    """The request's `?q=` read as a query; None when there is none or it is too short (the
    filter answers that with a 400)."""
    try:
        return parse_query(request.query_params.get("q"))
    except SearchError:
        return None


@contextmanager
def _no_parallel_workers() -> Iterator[None]:
    """A window's reads in one transaction without parallel workers: the planner guesses the
    buckets' prefixes match tens of thousands of leads where they match hundreds, and starting
    workers took 20 ms of a 2 ms read (1M leads)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def _state(lead: Lead) -> Response:
    lead.refresh_from_db()
    return Response(LeadSerializer(lead).data)


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    request: AuthedApiRequest
    serializer_class = LeadSerializer
    lookup_value_regex = r"\d+"
    filterset_class = LeadFilter
    pagination_class = NewestLeadMatchesFirst

    def get_queryset(self):
        return lead_values(leads_visible_to(self.request.user))

    def get_object(self) -> Lead:
        return lead_get_for_user(self.request.user, self.kwargs["pk"])

    def filter_queryset(self, queryset):
        # No filter asked for (a plain page of the list): the filterset, its form and fields
        # made anew for each request (~1 ms of CPU), would leave the queryset as it is.
        if not any(name in self.request.query_params for name in self.filterset_class.base_filters):
            return queryset
        return super().filter_queryset(queryset)

    # No docstring: drf-spectacular would take it for the operation's description.
    def list(self, request: Request, *args, **kwargs) -> Response:
        # ListModelMixin.list with the page written by `lead_rows` (what LeadSerializer gives).
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(lead_rows(cast(list[dict], page)))

    @extend_schema(
        request=None,
        responses={200: LeadSerializer, 204: OpenApiResponse(description="The queue is empty.")},
    )
    @action(detail=False, methods=["post"], url_path="claim-next")
    def claim_next(self, request: AuthedApiRequest) -> Response:
        lead = services.lead_claim_next(user=request.user, teams=queue_teams(request.user))
        if lead is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(LeadSerializer(lead).data)

    @extend_schema(request=AttemptSerializer, responses={201: AttemptSerializer})
    @action(detail=True, methods=["post"])
    def attempts(self, request: AuthedApiRequest, pk: str) -> Response:
        lead = self.get_object()
        data = _valid(AttemptSerializer, request)
        attempt = services.lead_attempt_log_by_hand(lead=lead, by=request.user, **data)
        return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AnswerInputSerializer, responses={200: AnswerSerializer})
    @action(detail=True, methods=["post"])
    def answers(self, request: AuthedApiRequest, pk: str) -> Response:
        lead = self.get_object()
        data = _valid(AnswerInputSerializer, request)
        answer = services.lead_answer(lead=lead, by=request.user, **data)
        return Response(AnswerSerializer(answer).data)

    @extend_schema(request=None, responses={200: LeadSerializer})
    @action(detail=True, methods=["post"])
    def check(self, request: AuthedApiRequest, pk: str) -> Response:
        lead = self.get_object()
        services.lead_check(lead=lead, by=request.user)
        return _state(lead)

    @extend_schema(request=JunkInputSerializer, responses={200: LeadSerializer})
    @action(detail=True, methods=["post"])
    def junk(self, request: AuthedApiRequest, pk: str) -> Response:
        lead = self.get_object()
        data = _valid(JunkInputSerializer, request)
        services.lead_junk(lead=lead, by=request.user, **data)
        return _state(lead)


def _valid(serializer_class: type[serializers.Serializer], request: AuthedApiRequest) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class OptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CriterionOption
        fields = ["value", "label", "verdict"]


class CriterionSerializer(serializers.ModelSerializer):
    options = OptionSerializer(many=True, read_only=True)

    class Meta:
        model = Criterion
        fields = [
            "id",
            "slug",
            "question",
            "help_text",
            "kind",
            "required",
            "knock_out",
            "weight",
            "good_answer_yes",
            "min_value",
            "max_value",
            "order",
            "options",
        ]


class CriterionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    request: AuthedApiRequest
    serializer_class = CriterionSerializer
    pagination_class = None
    queryset = Criterion.objects.filter(active=True).prefetch_related(
        Prefetch("options", queryset=CriterionOption.objects.filter(archived=False))
    )


class JunkReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = JunkReason
        fields = ["id", "slug", "name"]


class JunkReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    request: AuthedApiRequest
    serializer_class = JunkReasonSerializer
    pagination_class = None
    queryset = JunkReason.objects.filter(active=True)


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadSource
        fields = ["id", "slug", "name", "channel"]


class SourceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    request: AuthedApiRequest
    serializer_class = SourceSerializer
    pagination_class = None
    queryset = LeadSource.objects.filter(active=True)


class ExportRequestSerializer(serializers.Serializer):
    """The queue's filters, as the queue page offers them; none: every open lead."""

    state = serializers.ChoiceField(choices=[s.value for s in Lead.OPEN_STATES], required=False)
    # A field named "source" is what the queue calls it; the stubs read it as Field.source.
    source = serializers.IntegerField(required=False, help_text="A source's id")  # type: ignore[assignment]
    temperature = serializers.ChoiceField(choices=Lead.Temperature.values, required=False)
    assignee = serializers.ChoiceField(choices=["me", "nobody"], required=False)
    age = serializers.ChoiceField(choices=["1h", "24h", "older_1d", "older_7d"], required=False)


class ExportJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField(
        help_text="Where the file is, once the state is done; null before"
    )

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "state",
            "filters",
            "language",
            "rows_done",
            "rows_total",
            "percent",
            "download_url",
            "error",
            "created_at",
            "finished_at",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.state != ExportJob.State.DONE:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api:export-download", args=[job.pk])
        )


class ExportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The queue as CSV, written by a worker: create a job with the queue's filters, read its
    state and progress until it is done, then download its file (the requester's only)."""

    request: AuthedApiRequest
    serializer_class = ExportJobSerializer
    lookup_value_regex = r"\d+"
    pagination_class = NewestFirst
    filter_backends: list = []

    def get_queryset(self):
        return exports.export_jobs_of(self.request.user)

    @extend_schema(request=ExportRequestSerializer, responses={201: ExportJobSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        filters = _valid(ExportRequestSerializer, cast(AuthedApiRequest, request))
        try:
            job = exports.export_job_start(
                api_user(request),
                filters,
                translation.get_language(),
                timezone.get_current_timezone_name(),
            )
        except exports.ExportError as error:
            raise serializers.ValidationError({"filters": [str(error)]}) from None
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(description="The CSV file"),
            404: OpenApiResponse(description="No such export of yours, or not done yet"),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request: AuthedApiRequest, pk: str) -> FileResponse:
        job = self.get_object()
        if job.state != ExportJob.State.DONE or not job.file:
            raise Http404
        response = FileResponse(job.file.open("rb"), as_attachment=True, filename="leads.csv")
        response["Content-Type"] = "text/csv; charset=utf-8"
        return response
