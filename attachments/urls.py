from __future__ import annotations

from django.urls import URLPattern, path

from attachments import views

app_name = "attachments"
urlpatterns: list[URLPattern] = [
    path("attachments/<int:pk>/", views.download, name="download"),
    path("attachments/<int:pk>/thumbnail", views.thumbnail, name="thumbnail"),
]
