from __future__ import annotations

from django.urls import URLPattern, path

from hours import views

app_name = "hours"
urlpatterns: list[URLPattern] = [path("hours/", views.hours_page, name="page")]
