"""Outgoing webhooks: subscriptions, the outbox of events, and each delivery with its attempts.

An event row is written in the same transaction as the change that causes it (the outbox), with
one delivery row per subscribed webhook; the sweep and a Celery task deliver them (see
webhooks/services.py). The event's id is the `X-Supportdesk-Event-Id` on every retry.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Kind(models.TextChoices):
    GENERIC = "generic", "JSON (signed)"
    SLACK = "slack", "Slack incoming webhook"


class Webhook(models.Model):
    url = models.URLField(max_length=2000)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERIC)
    events = models.JSONField(default=list, help_text="Event types; empty means every type")
    # Needed in clear to sign each body (HMAC); never returned by the API.
    secret = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    # Since when every attempt failed (cleared by a success); disabled after N days of it.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} webhook {self.pk} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class Event(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    # Deliveries of one object keep their order: "ticket:12", "chat:3".
    object_key = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (webhook disabled)"


class Delivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    object_key = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="delivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_log"),
            models.Index(
                fields=["webhook", "object_key", "id"],
                name="delivery_object_order",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} of {self.event_id} ({self.status})"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Attempt on delivery {self.delivery_id}: {self.status_code or self.error}"
