"""REST API v1 for leads and their reference lists. Same scoping and services as the pages."""

from collections.abc import Mapping

import django_filters
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api import IdOrSlugField, NewestFirst, SaneDateTimeFilter
from crm.lib.ratelimit import client_address, rate_limited
from leads import intake, services
from leads.models import ContactAttempt, Criterion, CriterionOption, JunkReason, Lead, LeadSource
from leads.selectors import intake_source, lead_get_for_user, leads_visible_to, queue_teams


class LeadSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    junk_reason = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    phone = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)

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
        ]
        read_only_fields = fields


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
    label = serializers.CharField(source="shown")
    verdict = serializers.CharField()
    points = serializers.IntegerField()
    knocked_out = serializers.BooleanField()
    score = serializers.IntegerField(source="lead.score")
    temperature = serializers.CharField(source="lead.temperature")


class JunkInputSerializer(serializers.Serializer):
    reason = IdOrSlugField(slug_field="slug", queryset=JunkReason.objects.filter(active=True))
    note = serializers.CharField(allow_blank=True, default="", max_length=5000)


class LeadFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__slug")
    created_after = SaneDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = SaneDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields = ["state", "team", "assignee", "source", "created_after", "created_before"]


def _state(lead: Lead) -> Response:
    lead.refresh_from_db()
    return Response(LeadSerializer(lead).data)


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = LeadSerializer
    lookup_value_regex = r"\d+"
    filterset_class = LeadFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        return leads_visible_to(self.request.user).select_related("source", "junk_reason")

    def get_object(self) -> Lead:
        return lead_get_for_user(self.request.user, self.kwargs["pk"])

    @extend_schema(
        request=None,
        responses={200: LeadSerializer, 204: OpenApiResponse(description="The queue is empty.")},
    )
    @action(detail=False, methods=["post"], url_path="claim-next")
    def claim_next(self, request: Request) -> Response:
        lead = services.lead_claim_next(user=request.user, teams=queue_teams(request.user))
        if lead is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(LeadSerializer(lead).data)

    @extend_schema(request=AttemptSerializer, responses={201: AttemptSerializer})
    @action(detail=True, methods=["post"])
    def attempts(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        data = _valid(AttemptSerializer, request)
        attempt = services.lead_attempt_log(lead=lead, by=request.user, **data)
        return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AnswerInputSerializer, responses={200: AnswerSerializer})
    @action(detail=True, methods=["post"])
    def answers(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        data = _valid(AnswerInputSerializer, request)
        answer = services.lead_answer(lead=lead, by=request.user, **data)
        return Response(AnswerSerializer(answer).data)

    @extend_schema(request=None, responses={200: LeadSerializer})
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        services.lead_check(lead=lead, by=request.user)
        return _state(lead)

    @extend_schema(request=JunkInputSerializer, responses={200: LeadSerializer})
    @action(detail=True, methods=["post"])
    def junk(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        data = _valid(JunkInputSerializer, request)
        services.lead_junk(lead=lead, by=request.user, **data)
        return _state(lead)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict:
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
    serializer_class = CriterionSerializer
    pagination_class = None
    queryset = Criterion.objects.filter(active=True).prefetch_related(
        Prefetch("options", queryset=CriterionOption.objects.order_by("order", "id"))
    )


class JunkReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = JunkReason
        fields = ["id", "slug", "name"]


class JunkReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = JunkReasonSerializer
    pagination_class = None
    queryset = JunkReason.objects.filter(active=True)


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadSource
        fields = ["id", "slug", "name", "channel"]


class SourceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SourceSerializer
    pagination_class = None
    queryset = LeadSource.objects.filter(active=True)


class IntakeFieldsSerializer(serializers.Serializer):
    """The generic preset's fields (a phone or an e-mail is required)."""

    name = serializers.CharField(required=False, max_length=200)
    phone = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    message = serializers.CharField(required=False, max_length=5000)
    external_id = serializers.CharField(required=False, max_length=100)
    utm_source = serializers.CharField(required=False, max_length=200)
    utm_medium = serializers.CharField(required=False, max_length=200)
    utm_campaign = serializers.CharField(required=False, max_length=200)


class IntakeResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        # Not duplicate_of: a public form's key must not tell whether a phone is already known.
        fields = ["id", "state", "warn_at", "breach_at"]


@extend_schema(
    auth=[],
    parameters=[
        OpenApiParameter("X-Intake-Key", str, OpenApiParameter.HEADER, required=False),
        OpenApiParameter(
            "key",
            str,
            OpenApiParameter.QUERY,
            required=False,
            description="The intake key, for builders that cannot set headers.",
        ),
    ],
    request={
        "application/json": IntakeFieldsSerializer,
        "application/x-www-form-urlencoded": IntakeFieldsSerializer,
    },
    responses={
        201: IntakeResponseSerializer,
        200: OpenApiResponse(IntakeResponseSerializer, description="A repeat: the stored lead."),
        400: OpenApiResponse(description="Field errors."),
        401: OpenApiResponse(description="No intake key."),
        403: OpenApiResponse(description="Unknown or disabled intake key."),
        413: OpenApiResponse(description="Body too large."),
        415: OpenApiResponse(description="Not JSON or form-encoded."),
        429: OpenApiResponse(description="Too many posts from this address."),
    },
)
class IntakeView(APIView):
    """POST /api/v1/intake/: web forms and integrations deliver leads here."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def post(self, request: Request) -> Response:
        source = _intake_source(request)
        if isinstance(source, Response):
            return source
        refusal = _intake_refusal(request, source)
        if refusal is not None:
            return _with_cors(request, source, refusal)
        return _with_cors(request, source, _intake_store(request, source))

    def options(self, request: Request, *args, **kwargs) -> Response:
        """The browser's preflight: allowed when some source lists the page's origin."""
        origin = request.headers.get("Origin", "")
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if origin and any(s.allows_origin(origin) for s in LeadSource.objects.filter(active=True)):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type, X-Intake-Key"
            response["Access-Control-Max-Age"] = "86400"
        response["Vary"] = "Origin"
        return response


def _intake_source(request: Request) -> LeadSource | Response:
    key = request.headers.get("X-Intake-Key") or request.query_params.get("key", "")
    if "\x00" in key:
        key = ""  # no key has one; the database would refuse to compare it
    if not key:
        return Response(
            {"detail": _("Send the intake key in X-Intake-Key or ?key=.")},
            status=status.HTTP_401_UNAUTHORIZED,
        )
    source = intake_source(key)
    if source is None or source.team is None:
        return Response(
            {"detail": _("This intake key is unknown or disabled.")},
            status=status.HTTP_403_FORBIDDEN,
        )
    return source


def _intake_refusal(request: Request, source: LeadSource) -> Response | None:
    """Size and rate are checked before the body is read."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.INTAKE_MAX_BODY_BYTES:
        return Response(
            {"detail": _("The body is too large.")}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if rate_limited(f"intake:{source.pk}:{client_address(request)}", source.rate_limit_per_minute):
        response = Response(
            {"detail": _("Too many posts; try again in a minute.")},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response["Retry-After"] = "60"
        return response
    return None


def _intake_store(request: Request, source: LeadSource) -> Response | HttpResponse:
    try:
        data = request.data
    except RequestDataTooBig:
        return Response(
            {"detail": _("The body is too large.")}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if not isinstance(data, Mapping):
        return Response(
            {"detail": _("Send the fields as a JSON object or a form.")},
            status=status.HTTP_400_BAD_REQUEST,
        )
    payload = flat_payload(data)
    if intake.is_builder_ping(source, payload):
        return HttpResponse("ok", content_type="text/plain")
    if source.honeypot_field and payload.get(source.honeypot_field):
        return Response(
            {source.honeypot_field: [_("This field must be left empty.")]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    fields, errors = intake.clean_fields(intake.map_payload(source, payload))
    if errors:
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    lead, created = services.lead_receive(source=source, fields=fields)
    return Response(
        IntakeResponseSerializer(lead).data,
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


def flat_payload(data: Mapping) -> dict[str, str]:
    """A flat {key: text} view of a JSON or form body; JSON-RPC `params` become `params.*`."""
    flat: dict[str, str] = {}
    items = data.lists() if hasattr(data, "lists") else data.items()
    for key, value in items:
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, dict):
            flat.update(
                {f"{key}.{k}": str(v) for k, v in value.items() if not isinstance(v, dict | list)}
            )
            continue
        flat[str(key)] = "" if value is None else str(value)
    return flat


def _with_cors(request: Request, source: LeadSource, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and source.allows_origin(origin):
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response
