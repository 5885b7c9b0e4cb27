from django.urls import path

from telephony import views

app_name = "telephony"
urlpatterns = [
    path("mango/<str:key>/events/<str:kind>", views.mango, name="mango"),
    path("zadarma/<str:key>/", views.zadarma, name="zadarma"),
    path("generic/<str:key>/", views.generic, name="generic"),
]
