from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.teams, name="teams"),
    path("people/<int:pk>/", views.person, name="person"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("insights/", views.insights, name="insights"),
]
