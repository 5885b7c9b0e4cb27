from decimal import Decimal

import django_filters
from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api import IdOrSlugField
from crm.lib.http import AuthedApiRequest
from deals import services
from deals.models import Company, Contact, Deal, LossReason
from deals.search import deal_q
from deals.selectors import deal_get_for_user, deals_visible_to
from leads import channels
from leads.api import (
    SEARCH_HELP,
    EmailSerializer,
    NewestMatchesFirst,
    PhoneSerializer,
    search_filter,
)
from leads.models import Answer, ContactAttempt, Criterion, Lead, LeadEvent
from leads.search import Query


class HandedOverAnswerSerializer(serializers.ModelSerializer):
    """An answer as it was given (question, label and verdict are copied when answered, so an
    edit of the criterion since then does not show here)."""

    criterion: "serializers.SlugRelatedField[Criterion]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    label = serializers.CharField(source="shown", read_only=True)  # type: ignore[assignment]

    class Meta:
        model = Answer
        fields = [
            "criterion",
            "question",
            "kind",
            "value",
            "label",
            "verdict",
            "points",
            "knocked_out",
            "answered_by",
            "answered_at",
            "origin",
        ]
        read_only_fields = fields


class HandedOverCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactAttempt
        fields = ["id", "outcome", "duration_s", "at", "by", "note", "callback_at"]
        read_only_fields = fields


class QualificationSerializer(serializers.Serializer):
    """What the lead was handed over with, read from the lead (the deal's own app cannot reach
    the handoff app above it): the qualifier is whoever converted the lead."""

    qualifier = serializers.SerializerMethodField(help_text="The user who converted the lead.")
    qualifier_name = serializers.SerializerMethodField()
    score = serializers.IntegerField(read_only=True, help_text="0–100.")
    temperature = serializers.ChoiceField(choices=Lead.Temperature.choices, read_only=True)
    message = serializers.CharField(read_only=True, help_text="The customer's own message.")
    answers = HandedOverAnswerSerializer(many=True, read_only=True)
    calls = HandedOverCallSerializer(source="attempts", many=True, read_only=True)

    def _converter(self, lead: Lead) -> User | None:
        events = getattr(lead, "conversion", None)  # prefetched by qualification_lookups()
        if events is None:
            events = conversion_events().filter(lead=lead)
        event = next(iter(events), None)
        return event.actor if event else None

    def get_qualifier(self, lead: Lead) -> int | None:
        converter = self._converter(lead)
        return converter.pk if converter else None

    def get_qualifier_name(self, lead: Lead) -> str | None:
        converter = self._converter(lead)
        return (converter.get_full_name() or converter.get_username()) if converter else None


def qualification_lookups() -> list[Prefetch]:
    """What QualificationSerializer reads, prefetched: one query per list whatever the number
    of deals (the lead itself comes by select_related)."""
    return [
        Prefetch(
            "lead__answers",
            queryset=Answer.objects.select_related("criterion").order_by("answered_at", "id"),
        ),
        Prefetch("lead__attempts", queryset=ContactAttempt.objects.order_by("at", "id")),
        Prefetch("lead__events", queryset=conversion_events(), to_attr="conversion"),
        Prefetch("contact__points"),
    ]


def conversion_events() -> QuerySet[LeadEvent]:
    """The event of a lead's conversion, whose actor handed it over."""
    return LeadEvent.objects.filter(
        kind=LeadEvent.Kind.TRANSITION, to_state=Lead.State.CONVERTED
    ).select_related("actor")


class ContactSerializer(serializers.ModelSerializer):
    """The deal's contact with every phone and e-mail, shaped as the lead API's."""

    phone = serializers.CharField(read_only=True, help_text="the primary (first) phone, E.164")
    email = serializers.CharField(read_only=True, help_text="the primary (first) e-mail")
    phones = serializers.SerializerMethodField(help_text="every phone, the primary one first")
    emails = serializers.SerializerMethodField(help_text="every e-mail, the primary one first")

    @extend_schema_field(PhoneSerializer(many=True))
    def get_phones(self, contact: Contact) -> list[dict]:
        points = [p for p in contact.points.all() if p.kind == channels.PHONE]
        return list(PhoneSerializer(points, many=True).data)

    @extend_schema_field(EmailSerializer(many=True))
    def get_emails(self, contact: Contact) -> list[dict]:
        points = [p for p in contact.points.all() if p.kind == channels.EMAIL]
        return list(EmailSerializer(points, many=True).data)

    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "email", "phones", "emails"]
        read_only_fields = fields


class DealSerializer(serializers.ModelSerializer):
    contact: "serializers.StringRelatedField[Contact]" = serializers.StringRelatedField(
        help_text="The contact's name (the whole contact is `contact_details`)."
    )
    contact_details = ContactSerializer(
        source="contact",
        read_only=True,
        help_text="The contact with every phone and e-mail (`phones`, `emails`), as the lead "
        "API shows a lead's.",
    )
    company: "serializers.StringRelatedField[Company]" = serializers.StringRelatedField(
        allow_null=True
    )
    loss_reason: "serializers.SlugRelatedField[LossReason]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    qualification = QualificationSerializer(
        source="lead",
        read_only=True,
        help_text="What the lead was handed over with: the answers as given, the calls, score, "
        "temperature and the qualifier. Read-only.",
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "team",
            "lead",
            "contact",
            "contact_details",
            "company",
            "stage",
            "closer",
            "meeting_at",
            "meeting_address",
            "amount",
            "loss_reason",
            "created_at",
            "accepted_at",
            "closed_at",
            "qualification",
        ]
        read_only_fields = fields


class StageInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(
        choices=[Deal.Stage.ACCEPTED, Deal.Stage.MEETING, Deal.Stage.PROPOSAL]
    )
    meeting_at = serializers.DateTimeField(required=False, help_text="For the meeting stage.")
    address = serializers.CharField(
        required=False, max_length=300, help_text="For the meeting stage."
    )

    def validate(self, data: dict) -> dict:
        if data["stage"] == Deal.Stage.MEETING and not (
            data.get("meeting_at") and data.get("address")
        ):
            raise serializers.ValidationError(_("A meeting needs meeting_at and address."))
        return data


class WinInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))


class LoseInputSerializer(serializers.Serializer):
    reason = IdOrSlugField(slug_field="slug", queryset=LossReason.objects.filter(active=True))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


def _valid(serializer_class: type[serializers.Serializer], request: AuthedApiRequest) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


SEARCH_HELP_DEALS = (
    SEARCH_HELP + " Deals match through their contact (any of its phones and e-mails, its name and "
    "primary e-mail) or their company's name."
)


def _deal_match(deals: QuerySet[Deal], query: Query) -> QuerySet[Deal]:
    return deals.filter(deal_q(query))


class NewestDealMatchesFirst(NewestMatchesFirst):
    """NewestMatchesFirst for the deals: a search's page is found by its keys first, read in
    arrival order (`created_at`, then id: `deal_arrival`) after the cursor's position —
    the cursor's offset, the page and one — and then only those deals are read and paged as
    NewestMatchesFirst pages them: the same page, the same cursors. Many matches (a common
    surname: `deals.search.FEW_MATCHES`) are then a walk of the newest deals until the page
    is found, where sorting them read every matching deal; few are read by their contacts'
    and companies' keys and sorted."""

    def paginate_queryset(self, queryset, request, view=None):
        page_size = self.get_page_size(request)
        if request.query_params.get("q") and view is not None and page_size:
            offset, reverse, position = self.decode_cursor(request) or (0, False, None)
            rows = queryset
            if position is not None:
                after = parse_datetime(str(position))
                rows = rows.filter(**{"created_at__gt" if reverse else "created_at__lt": after})
            order = ("created_at", "id") if reverse else ("-created_at", "-id")
            wanted = offset + page_size + 1
            keys = list(rows.order_by(*order).values_list("pk", flat=True)[:wanted])
            # The deals by key within the user's scope (the view's queryset): the matches and
            # the other filters are in the keys already.
            queryset = view.get_queryset().filter(pk__in=keys)
        return super().paginate_queryset(queryset, request, view)


class DealFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", help_text=SEARCH_HELP_DEALS, max_length=100
    )

    class Meta:
        model = Deal
        fields = ["q", "stage", "team", "closer"]

    def search(self, queryset, name: str, value: str):
        return search_filter(queryset, name, value, _deal_match)


class DealViewSet(viewsets.ReadOnlyModelViewSet):
    request: AuthedApiRequest
    serializer_class = DealSerializer
    lookup_value_regex = r"\d+"
    pagination_class = NewestDealMatchesFirst
    filterset_class = DealFilter

    def get_queryset(self):
        return (
            deals_visible_to(self.request.user)
            .select_related("contact", "company", "loss_reason", "lead")
            .prefetch_related(*qualification_lookups())
        )

    def get_object(self) -> Deal:
        deal = deal_get_for_user(self.request.user, self.kwargs["pk"])
        prefetch_related_objects([deal], *qualification_lookups())
        return deal

    def _answer(self, deal: Deal) -> Response:
        deal.refresh_from_db()
        prefetch_related_objects([deal], *qualification_lookups())
        return Response(DealSerializer(deal).data)

    @extend_schema(request=None, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: AuthedApiRequest, pk: str) -> Response:
        deal = self.get_object()
        services.deal_accept(deal=deal, by=request.user)
        return self._answer(deal)

    @extend_schema(request=StageInputSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def stage(self, request: AuthedApiRequest, pk: str) -> Response:
        deal = self.get_object()
        data = _valid(StageInputSerializer, request)
        if data["stage"] == Deal.Stage.ACCEPTED:
            services.deal_accept(deal=deal, by=request.user)
        elif data["stage"] == Deal.Stage.MEETING:
            services.deal_set_meeting(
                deal=deal, by=request.user, at=data["meeting_at"], address=data["address"]
            )
        else:
            services.deal_transition(deal=deal, by=request.user, name="propose")
        return self._answer(deal)

    @extend_schema(request=WinInputSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def win(self, request: AuthedApiRequest, pk: str) -> Response:
        deal = self.get_object()
        services.deal_win(deal=deal, by=request.user, **_valid(WinInputSerializer, request))
        return self._answer(deal)

    @extend_schema(request=LoseInputSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def lose(self, request: AuthedApiRequest, pk: str) -> Response:
        deal = self.get_object()
        services.deal_lose(deal=deal, by=request.user, **_valid(LoseInputSerializer, request))
        return self._answer(deal)


class LossReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LossReason
        fields = ["id", "slug", "name"]


class LossReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    request: AuthedApiRequest
    serializer_class = LossReasonSerializer
    pagination_class = None
    queryset = LossReason.objects.filter(active=True)
