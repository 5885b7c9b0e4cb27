from rest_framework import mixins, serializers, viewsets

from crm.api import NewestFirst
from deals.models import Deal, LossReason
from deals.selectors import deals_visible_to


class DealSerializer(serializers.ModelSerializer):
    contact = serializers.StringRelatedField()
    company = serializers.StringRelatedField()

    class Meta:
        model = Deal
        fields = ["id", "team", "lead", "contact", "company", "stage", "closer", "amount",
                  "created_at"]
        read_only_fields = fields


class DealViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DealSerializer
    pagination_class = NewestFirst
    filterset_fields = ["stage", "team", "closer"]

    def get_queryset(self):
        return deals_visible_to(self.request.user).select_related("contact", "company")


class LossReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LossReason
        fields = ["id", "slug", "name"]


class LossReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = LossReasonSerializer
    pagination_class = None
    queryset = LossReason.objects.filter(active=True)
