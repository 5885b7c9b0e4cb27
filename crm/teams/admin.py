from django.contrib import admin

from crm.teams.models import Holiday, Team, WorkingHours


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "manager", "time_zone"]
    list_filter = ["kind"]
    search_fields = ["name"]
    filter_horizontal = ["members", "hands_off_to"]
    inlines = [WorkingHoursInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "team"]
    list_filter = ["team"]
