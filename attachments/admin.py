from __future__ import annotations

from django.contrib import admin

from attachments.models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = (
        "filename",
        "content_type",
        "size",
        "source",
        "ticket",
        "conversation",
        "created_at",
    )
    list_filter = ("source", "content_type")
    search_fields = ("filename", "sha256")
    raw_id_fields = ("uploaded_by", "ticket", "message", "conversation", "chat_message")
    readonly_fields = ("file", "thumbnail", "sha256", "size", "content_type")
