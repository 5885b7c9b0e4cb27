from django.urls import path

from setup import views

app_name = "setup"
urlpatterns = [
    path("", views.index, name="index"),
    path("criteria/", views.criteria, name="criteria"),
    path("criteria/add/", views.criterion_add, name="criterion_add"),
    path("criteria/order/", views.criteria_order, name="criteria_order"),
    path("criteria/preview/", views.criterion_preview, name="criterion_preview"),
    path("criteria/<int:pk>/", views.criterion_edit, name="criterion_edit"),
    path("criteria/<int:pk>/move/", views.criterion_move, name="criterion_move"),
    path("reasons/", views.reasons, name="reasons"),
    path("reasons/<str:kind>/add/", views.reason_edit, name="reason_add"),
    path("reasons/<str:kind>/<int:pk>/", views.reason_edit, name="reason_edit"),
    path("sources/", views.sources, name="sources"),
    path("sources/add/", views.source_add, name="source_add"),
    path("sources/<int:pk>/", views.source_edit, name="source_edit"),
    path("sources/<int:pk>/rotate/", views.source_rotate, name="source_rotate"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("telephony/", views.pbx_connections, name="pbx_connections"),
    path("telephony/add/", views.pbx_add, name="pbx_add"),
    path("telephony/<int:pk>/", views.pbx_edit, name="pbx_edit"),
    path("mailboxes/", views.mailboxes, name="mailboxes"),
    path("mailboxes/add/", views.mailbox_add, name="mailbox_add"),
    path("mailboxes/<int:pk>/", views.mailbox_edit, name="mailbox_edit"),
]
