from django.urls import path

from deals import views

app_name = "deals"
urlpatterns = [
    path("", views.board, name="board"),
    path("stage/<str:stage>/", views.board_more, name="board_more"),
    path("stage/<str:stage>/count/", views.board_count, name="board_count"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/timeline/", views.timeline, name="timeline"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/meeting/", views.meeting, name="meeting"),
    path("<int:pk>/propose/", views.propose, name="propose"),
    path("<int:pk>/win/", views.win, name="win"),
    path("<int:pk>/lose/", views.lose, name="lose"),
    path("<int:pk>/note/", views.note, name="note"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("slots/", views.slots, name="slots"),
    path("slots/<int:slot_id>/remove/", views.slot_remove, name="slot_remove"),
    path("availability/", views.availability, name="availability"),
    path("contacts/<int:pk>/", views.contact, name="contact"),
]
