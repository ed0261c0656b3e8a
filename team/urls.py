from __future__ import annotations

from django.urls import URLPattern, path

from team import views

app_name = "team"
urlpatterns: list[URLPattern] = [
    path("team/", views.team_page, name="team"),
    path("team/heartbeat", views.heartbeat, name="heartbeat"),
    path("team/<int:user_id>/", views.person_page, name="person"),
]
