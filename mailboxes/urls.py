from __future__ import annotations

from django.urls import URLPattern, path

from mailboxes import views

app_name = "mailboxes"
urlpatterns: list[URLPattern] = [
    path("mailboxes/", views.mailbox_list, name="list"),
    path("mailboxes/new", views.mailbox_new, name="new"),
    path("mailboxes/<int:mailbox_id>/test", views.mailbox_test, name="test"),
    path("mailboxes/<int:mailbox_id>/pause", views.mailbox_pause, name="pause"),
    path("mailboxes/<int:mailbox_id>/delete", views.mailbox_delete, name="delete"),
]
