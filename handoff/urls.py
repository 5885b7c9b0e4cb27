from django.urls import path

from handoff import views

app_name = "handoff"
urlpatterns = [
    path("leads/<int:pk>/convert/", views.convert, name="convert"),
    path("deals/<int:pk>/dispute/", views.dispute_raise, name="dispute_raise"),
    path("disputes/", views.inbox, name="disputes"),
    path("disputes/<int:pk>/", views.dispute, name="dispute"),
    path("disputes/<int:pk>/comment/", views.dispute_comment, name="dispute_comment"),
    path("disputes/<int:pk>/resolve/", views.dispute_resolve, name="dispute_resolve"),
]
