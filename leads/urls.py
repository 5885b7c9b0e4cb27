from django.urls import path

from leads import import_views, views

app_name = "leads"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("take-next/", views.take_next, name="take_next"),
    path("sla/", views.sla_board, name="sla"),
    path("new/", views.lead_create, name="create"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/timeline/", views.lead_timeline, name="timeline"),
    path("<int:pk>/attempts/", views.attempt_create, name="attempt"),
    path("<int:pk>/answers/", views.answers_save, name="answers"),
    path("<int:pk>/answer/", views.answer_save, name="answer"),
    path("<int:pk>/contact/", views.contact_update, name="contact"),
    path("<int:pk>/check/", views.check, name="check"),
    path("<int:pk>/junk/", views.junk, name="junk"),
    path("export.csv", views.export_csv, name="export"),
    path("exports/", views.export_list, name="exports"),
    path("exports/start/", views.export_start, name="export_start"),
    path("exports/<int:pk>/", views.export_panel, name="export_panel"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("import/", import_views.upload, name="import"),
    path("import/<int:pk>/", import_views.job, name="import_job"),
    path("import/<int:pk>/step/", import_views.step, name="import_step"),
]
