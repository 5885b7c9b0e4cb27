from rest_framework import mixins, serializers, viewsets

from crm.api import NewestFirst
from crm.lib.http import AuthedApiRequest
from crm.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    text = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The current user's notifications, newest first."""

    request: AuthedApiRequest

    serializer_class = NotificationSerializer
    pagination_class = NewestFirst
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return Notification.objects.filter(recipient=self.request.user)
