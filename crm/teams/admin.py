from django.contrib import admin

from crm.teams.models import Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "manager", "time_zone"]
    list_filter = ["kind"]
    search_fields = ["name"]
    filter_horizontal = ["members", "hands_off_to"]
