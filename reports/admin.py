from django.contrib import admin

from reports.models import LeaderboardWeights


@admin.register(LeaderboardWeights)
class LeaderboardWeightsAdmin(admin.ModelAdmin):
    list_display = ["reached_call", "checked_lead", "conversion", "won_deal"]

    def has_add_permission(self, request) -> bool:
        return not LeaderboardWeights.objects.exists()
