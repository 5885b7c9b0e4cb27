from django.urls import path

from handoff import views

app_name = "handoff"
urlpatterns = [
    path("leads/<int:pk>/convert/", views.convert, name="convert"),
]
