from __future__ import annotations

from django.urls import URLPattern, path

from helpcenter import manage_views, views

app_name = "helpcenter"
urlpatterns: list[URLPattern] = [
    path("help/", views.home, name="home"),
    path("help/search", views.search, name="search"),
    path("help/sitemap.xml", views.sitemap, name="sitemap"),
    path("help/categories/<slug:slug>/", views.category, name="category"),
    path("help/articles/<int:pk>-<slug:slug>/", views.article, name="article"),
    path("help/articles/<int:pk>/feedback", views.feedback, name="feedback"),
    # The agents' side: list, editor with preview, history, report.
    path("help/manage/", manage_views.article_list, name="manage"),
    path("help/manage/new", manage_views.article_new, name="new"),
    path("help/manage/preview", manage_views.preview, name="preview"),
    path("help/manage/report", manage_views.report, name="report"),
    path("help/manage/<int:pk>/edit", manage_views.article_edit, name="edit"),
    path("help/manage/<int:pk>/status", manage_views.article_status, name="status"),
    path("help/manage/<int:pk>/history", manage_views.history, name="history"),
]
