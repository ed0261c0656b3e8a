from __future__ import annotations

from django.urls import URLPattern, path

from tickets import views

app_name = "tickets"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/bulk", views.inbox_bulk, name="bulk"),
    path("inbox/views", views.saved_view_create, name="saved_view_create"),
    path("inbox/counts", views.inbox_counts_json, name="inbox_counts"),
    path("inbox/bulk/<int:pk>", views.inbox_bulk_job, name="bulk_job"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/reply", views.ticket_reply, name="reply"),
    path("tickets/<int:pk>/update", views.ticket_update, name="update"),
    path("tickets/<int:pk>/merge", views.ticket_merge, name="merge"),
    path("tickets/<int:pk>/spam", views.ticket_spam, name="spam"),
    path("tickets/<int:pk>/merge-contact", views.ticket_merge_contact, name="merge_contact"),
    path("tickets/<int:pk>/contact-kind", views.ticket_contact_kind, name="contact_kind"),
    path("tickets/<int:pk>/follow-ups", views.follow_up_create, name="follow_up_create"),
    path(
        "tickets/<int:pk>/follow-ups/<int:follow_up_id>/cancel",
        views.follow_up_cancel,
        name="follow_up_cancel",
    ),
    path("support/new", views.web_form, name="web_form"),
    path("support/thanks", views.web_form_thanks, name="web_form_thanks"),
]
