from datetime import UTC

from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError

from crm.api import NewestFirst
from crm.lib.http import AuthedApiRequest
from crm.notifications.groups import KINDS
from crm.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    text = serializers.CharField(read_only=True)
    group = serializers.SerializerMethodField(
        help_text="The inbox line it belongs to: kind, team and hour (UTC) — "
        "notifications sharing it are shown as one"
    )

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "url", "created_at", "read_at", "team", "group"]
        read_only_fields = fields

    def get_group(self, note: Notification) -> str:
        return f"{note.kind}:{note.team_id or ''}:{note.created_at.astimezone(UTC):%Y%m%d%H}"


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The current user's notifications, newest first; `?kind=` keeps one kind."""

    request: AuthedApiRequest

    serializer_class = NotificationSerializer
    pagination_class = NewestFirst
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        rows = Notification.objects.filter(recipient=self.request.user)
        kind = self.request.query_params.get("kind", "")
        if kind:
            if kind not in KINDS:
                raise ValidationError({"kind": [f"Choose one of: {', '.join(KINDS)}."]})
            rows = rows.filter(kind=kind)
        return rows
