from django.contrib import admin

from deals.models import Company, Contact, Deal, LossReason


@admin.register(LossReason)
class LossReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "active"]
    list_editable = ["order", "active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "email", "company"]
    search_fields = ["name", "phone", "email"]
    autocomplete_fields = ["company"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    """Read-only: deals move through their services, which keep the history."""

    list_display = ["id", "contact", "team", "stage", "closer", "amount", "created_at"]
    list_filter = ["stage", "team"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
