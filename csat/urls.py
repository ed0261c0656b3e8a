from __future__ import annotations

from django.urls import URLPattern, path

from csat import views

app_name = "csat"
urlpatterns: list[URLPattern] = [
    path("csat/<str:token>/", views.survey, name="survey"),
    path("csat/surveys/<int:pk>/resend", views.resend, name="resend"),
]
