from django.urls import path

from reports import calls_views, views

app_name = "reports"
urlpatterns = [
    path("", views.teams, name="teams"),
    path("people/<int:pk>/", views.person, name="person"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("insights/", views.insights, name="insights"),
    path("calls/", calls_views.calls_page, name="calls"),
    path("calls/days/", calls_views.calls_days, name="calls_days"),
]
