"""Admin for tickets, including the review queue of inbound mail that could not be filed."""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.models import User
from attachments.models import Attachment
from tickets.inbound import reprocess
from tickets.models import (
    BlockedSender,
    BulkJob,
    FollowUp,
    InboundEmail,
    InboundStatus,
    Message,
    Tag,
    Ticket,
)

RAW_PREVIEW_CHARS = 20_000


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "author_type", "internal", "is_auto_reply", "message_id", "body_text")
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subject",
        "status",
        "priority",
        "type",
        "channel",
        "customer",
        "updated_at",
    )
    list_filter = ("status", "type", "channel", "priority")
    search_fields = ("subject", "reference")
    raw_id_fields = ("customer", "assignee", "order")
    readonly_fields = ("reference", "search_document")
    list_select_related = ("customer",)
    inlines = [MessageInline]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fk_name = "message"
    extra = 0
    fields = ("filename", "content_type", "size", "content_id", "file")
    readonly_fields = fields
    can_delete = False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "author_type", "internal", "is_auto_reply", "created_at")
    list_filter = ("author_type", "internal", "is_auto_reply", "channel")
    search_fields = ("message_id",)
    raw_id_fields = ("ticket", "author_user", "author_customer")
    list_select_related = ("ticket",)
    inlines = [AttachmentInline]


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "send_at", "status", "created_by")
    list_filter = ("status",)
    raw_id_fields = ("ticket", "created_by", "message")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """Every mail received, raw. Failed ones are the review queue: read, fix if needed, retry."""

    list_display = ("id", "received_at", "status", "source", "message_id", "ticket", "attempts")
    list_filter = ("status", "source")
    search_fields = ("message_id", "content_hash")
    date_hierarchy = "received_at"
    actions = ["retry"]
    fields = (
        "status",
        "error",
        "source",
        "received_at",
        "message_id",
        "content_hash",
        "ticket",
        "ticket_message",
        "attempts",
        "raw_preview",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mail arrives through the webhook or the pipe, never typed in

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundEmail]:
        # The list never loads the raw bytes (up to tens of MB each).
        queryset = super().get_queryset(request)
        url_name = request.resolver_match.url_name if request.resolver_match else None
        if url_name and url_name.endswith("_changelist"):
            queryset = queryset.defer("raw")
        return queryset

    @admin.display(description="Raw message")
    def raw_preview(self, obj: InboundEmail) -> str:
        raw = bytes(obj.raw or b"")
        text = raw[:RAW_PREVIEW_CHARS].decode("utf-8", errors="replace")
        more = (
            f"\n… {len(raw) - RAW_PREVIEW_CHARS:,} more bytes"
            if len(raw) > RAW_PREVIEW_CHARS
            else ""
        )
        return format_html("<pre style='white-space: pre-wrap'>{}{}</pre>", text, more)

    @admin.action(description="Retry filing the selected emails")
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        filed = failed = 0
        for inbound in queryset.defer("raw"):
            result = reprocess(inbound)
            if result.status == InboundStatus.FAILED:
                failed += 1
            else:
                filed += 1
        self.message_user(request, f"{filed} filed, {failed} still failing.", messages.INFO)
        if failed:
            self.message_user(
                request, "Open a failed email to read its error and raw text.", messages.WARNING
            )


@admin.register(BlockedSender)
class BlockedSenderAdmin(admin.ModelAdmin):
    """The admin list of blocked addresses and domains: their mail goes straight to spam."""

    list_display = ("pattern", "note", "created_by", "created_at")
    search_fields = ("pattern", "note")
    readonly_fields = ("created_by", "created_at")

    def save_model(
        self, request: HttpRequest, obj: BlockedSender, form: object, change: bool
    ) -> None:
        from tickets.spam import normalize_pattern

        obj.pattern = normalize_pattern(obj.pattern)
        if not change:
            obj.created_by = cast("User", request.user)  # the admin site lets only staff in
        super().save_model(request, obj, form, change)


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ("id", "action", "value", "by", "status", "done", "total", "created_at")
    list_filter = ("status", "action")
    readonly_fields = [f.name for f in BulkJob._meta.fields]
