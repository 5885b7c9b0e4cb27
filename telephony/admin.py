from django.contrib import admin

from telephony.models import Call, Extension, PbxConnection


class ExtensionInline(admin.TabularInline):
    model = Extension
    extra = 1


@admin.register(PbxConnection)
class PbxConnectionAdmin(admin.ModelAdmin):
    list_display = ["team", "provider", "active"]
    inlines = [ExtensionInline]
    readonly_fields = ["url_key"]


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["pbx_call_id", "direction", "customer_number", "state", "outcome", "started_at"]
    list_filter = ["connection", "direction", "state", "missed"]
    raw_id_fields = ["lead", "attempt"]
    readonly_fields = ["recording", "recording_fetched_at", "recording_deleted_at"]
