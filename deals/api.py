from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api import IdOrSlugField, NewestFirst
from deals import services
from deals.models import Deal, LossReason
from deals.selectors import deal_get_for_user, deals_visible_to


class DealSerializer(serializers.ModelSerializer):
    contact = serializers.StringRelatedField()
    company = serializers.StringRelatedField(allow_null=True)
    loss_reason = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "team",
            "lead",
            "contact",
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


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DealViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DealSerializer
    lookup_value_regex = r"\d+"
    pagination_class = NewestFirst
    filterset_fields = ["stage", "team", "closer"]

    def get_queryset(self):
        return deals_visible_to(self.request.user).select_related(
            "contact", "company", "loss_reason"
        )

    def get_object(self) -> Deal:
        return deal_get_for_user(self.request.user, self.kwargs["pk"])

    def _answer(self, deal: Deal) -> Response:
        deal.refresh_from_db()
        return Response(DealSerializer(deal).data)

    @extend_schema(request=None, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        services.deal_accept(deal=deal, by=request.user)
        return self._answer(deal)

    @extend_schema(request=StageInputSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def stage(self, request: Request, pk: str) -> Response:
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
    def win(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        services.deal_win(deal=deal, by=request.user, **_valid(WinInputSerializer, request))
        return self._answer(deal)

    @extend_schema(request=LoseInputSerializer, responses={200: DealSerializer})
    @action(detail=True, methods=["post"])
    def lose(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        services.deal_lose(deal=deal, by=request.user, **_valid(LoseInputSerializer, request))
        return self._answer(deal)


class LossReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LossReason
        fields = ["id", "slug", "name"]


class LossReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = LossReasonSerializer
    pagination_class = None
    queryset = LossReason.objects.filter(active=True)
