from django.contrib import admin

from crm.lib.slugs import SlugFromNameAdmin
from deals.models import Company, Contact, ContactPoint, Deal, LossReason


@admin.register(LossReason)
class LossReasonAdmin(SlugFromNameAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "order", "active"]
    list_editable = ["order", "active"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    """Each sales team has its own companies (and contacts): the team is shown and filtered
    on, since one name may be several teams' rows."""

    list_display = ["name", "team"]
    list_filter = ["team"]
    search_fields = ["name"]


class ContactPointInline(admin.TabularInline):
    """The contact's phones and e-mails, as its conversions brought them (read-only here)."""

    model = ContactPoint
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    inlines = [ContactPointInline]
    list_display = ["name", "phone", "email", "company", "team"]
    list_filter = ["team"]
    list_select_related = ["company", "team"]
    search_fields = ["name", "phone", "email"]
    autocomplete_fields = ["company"]  # a company of another team is refused by Contact.clean


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
