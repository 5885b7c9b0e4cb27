from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api import IdOrSlugField
from crm.lib.http import AuthedApiRequest, api_user
from crm.teams.models import Team
from deals.models import VisitSlot
from deals.selectors import deal_get_for_user
from handoff import disputes
from handoff.disputes import disputes_visible_to
from handoff.models import Dispute
from handoff.services import lead_convert
from leads.api import LeadSerializer
from leads.models import Criterion, Lead
from leads.selectors import lead_get_for_user


class ConvertInputSerializer(serializers.Serializer):
    sales_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(kind=Team.Kind.SALES),
        required=False,
        help_text="Needed only when the lead's team hands off to several sales teams.",
    )
    closer = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="A closer of the sales team to give the deal to.",
    )
    slot = serializers.PrimaryKeyRelatedField(
        queryset=VisitSlot.objects.filter(deal=None),
        required=False,
        help_text="A closer's free visit slot to book for the site visit.",
    )
    address = serializers.CharField(
        required=False, max_length=300, help_text="The site visit's address, with a slot."
    )


class ConvertedSerializer(LeadSerializer):
    """The converted lead (its state, as every transition answers) and the deal it became, so an
    integrator can follow the deal without searching for it."""

    deal = serializers.IntegerField(
        source="handoff.deal_id", read_only=True, help_text="The new deal's id."
    )
    deal_url = serializers.SerializerMethodField(help_text="The new deal in this API.")
    closer = serializers.IntegerField(
        source="handoff.deal.closer_id",
        read_only=True,
        allow_null=True,
        help_text="The closer the deal was given to; null when it waits in the team's pool.",
    )
    sales_team = serializers.IntegerField(
        source="handoff.team_id",
        read_only=True,
        help_text="The sales team that received the deal.",
    )

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "deal", "deal_url", "closer", "sales_team"]
        read_only_fields = fields

    def get_deal_url(self, lead: Lead) -> str:
        path = reverse("api:deal-detail", args=[lead.handoff.deal_id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


@extend_schema(request=ConvertInputSerializer, responses={200: ConvertedSerializer})
@api_view(["POST"])
def convert(request: Request, pk: int) -> Response:
    user = api_user(request)
    lead = lead_get_for_user(user, pk)
    data = ConvertInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    handoff = lead_convert(lead=lead, by=user, **data.validated_data)
    lead.refresh_from_db()
    lead.handoff = handoff
    return Response(ConvertedSerializer(lead, context={"request": request}).data)


class DisputeSerializer(serializers.ModelSerializer):
    criterion: "serializers.SlugRelatedField[Criterion]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    # Declared so the schema admits the blank outcome of an open dispute.
    outcome = serializers.ChoiceField(
        choices=Dispute.Outcome.choices,
        allow_blank=True,
        read_only=True,
        help_text="Blank while the dispute is open.",
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "deal",
            "criterion",
            "criterion_question",
            "claim",
            "raised_by",
            "raised_at",
            "qualifier_comment",
            "outcome",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields


class DisputeInputSerializer(serializers.Serializer):
    criterion = IdOrSlugField(slug_field="slug", queryset=Criterion.objects.all())
    note = serializers.CharField(max_length=5000)


class RulingInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Dispute.Outcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


@extend_schema(request=DisputeInputSerializer, responses={201: DisputeSerializer})
@api_view(["POST"])
def dispute(request: Request, pk: int) -> Response:
    user = api_user(request)
    deal = deal_get_for_user(user, pk)
    data = DisputeInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    raised = disputes.dispute_raise(
        deal=deal,
        by=user,
        criterion=data.validated_data["criterion"],
        claim=data.validated_data["note"],
    )
    return Response(DisputeSerializer(raised).data, status=201)


class DisputeViewSet(viewsets.ReadOnlyModelViewSet):
    request: AuthedApiRequest
    serializer_class = DisputeSerializer
    lookup_value_regex = r"\d+"
    pagination_class = None

    def get_queryset(self):
        visible = Dispute.objects.filter(disputes_visible_to(self.request.user))
        return visible.select_related("criterion").order_by("-raised_at")[:500]

    def get_object(self) -> Dispute:
        item = Dispute.objects.filter(
            disputes_visible_to(self.request.user), pk=self.kwargs["pk"]
        ).first()
        if item is None:
            raise Http404
        return item

    @extend_schema(request=RulingInputSerializer, responses={200: DisputeSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: AuthedApiRequest, pk: str) -> Response:
        item = self.get_object()
        data = RulingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ruled = disputes.dispute_resolve(dispute=item, by=request.user, **data.validated_data)
        return Response(DisputeSerializer(ruled).data)
