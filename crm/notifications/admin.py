from django.contrib import admin

from crm.notifications.models import Delivery, DeliveryAttempt


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "ok", "error"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """What to watch: deliveries stuck pending or failed, and why."""

    list_display = [
        "id",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    readonly_fields = [
        "notification",
        "channel",
        "target",
        "status",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "sent_at",
        "last_error",
    ]
    inlines = [AttemptInline]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False
