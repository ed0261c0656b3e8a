from __future__ import annotations

from django.urls import URLPattern, path

from teams import views

app_name = "teams"
urlpatterns: list[URLPattern] = [path("teams/", views.teams_page, name="page")]
