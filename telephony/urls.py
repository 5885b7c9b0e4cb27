from django.urls import path

from telephony import listen, views, workspace

app_name = "telephony"
# The PBXs post to api/v1/telephony/…; the workspace's call panel lives beside the lead.
urlpatterns = [
    path("leads/<int:pk>/call/", workspace.call_panel, name="panel"),
    path("leads/<int:pk>/call/start/", workspace.call_start, name="call"),
    path("calls/<int:pk>/recording/", listen.recording, name="recording"),
    path("api/v1/telephony/mango/<str:key>/events/<str:kind>", views.mango, name="mango"),
    path("api/v1/telephony/zadarma/<str:key>/", views.zadarma, name="zadarma"),
    path("api/v1/telephony/generic/<str:key>/", views.generic, name="generic"),
]
