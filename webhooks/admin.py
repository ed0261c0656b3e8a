"""Admin pages for webhooks: subscriptions and the delivery log, with redelivery on demand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.reauth import second_factor_again
from webhooks import services
from webhooks.models import Attempt, Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("id", "url", "kind", "active", "failing_since", "disabled_at", "created_at")
    list_filter = ("kind", "active")
    exclude = ("secret",)
    readonly_fields = ("failing_since", "disabled_at", "created_by", "created_at")
    actions = ["enable_again"]

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # A new webhook sends every event (customers' data) to a URL: the second factor again.
        return second_factor_again(super().add_view)(request, *args, **kwargs)

    @admin.action(description="Enable again (and deliver what waited)")
    def enable_again(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            services.enable(webhook)
        messages.success(request, f"{queryset.count()} webhook(s) enabled.")


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ("at", "status_code", "duration_ms", "error")
    readonly_fields = fields
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: status, response code, duration and next attempt of each event."""

    list_display = (
        "id",
        "webhook",
        "event_type",
        "object_key",
        "status",
        "attempts",
        "last_status_code",
        "last_duration_ms",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "webhook")
    list_select_related = ("event", "webhook")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.display(description="Event")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.action(description="Redeliver (same event id)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            services.redeliver(delivery)
        messages.success(request, f"{queryset.count()} delivery(ies) queued again.")
