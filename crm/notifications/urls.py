from django.urls import path

from crm.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("badge/", views.badge, name="badge"),
    path("<int:pk>/", views.open_notification, name="open"),
    path("read/", views.mark_all_read, name="mark_all_read"),
]
