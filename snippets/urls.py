from __future__ import annotations

from django.urls import URLPattern, path

from snippets import views

app_name = "snippets"
urlpatterns: list[URLPattern] = [
    path("snippets/", views.library, name="library"),
    path("snippets/new", views.snippet_new, name="new"),
    path("snippets/<int:snippet_id>/edit", views.snippet_edit, name="edit"),
    path("snippets/<int:snippet_id>/archive", views.snippet_archive, name="archive"),
]
