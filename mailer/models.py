"""Outgoing mail as durable rows: committed with the change that causes it, sent by a sweep.

Replies, follow-ups, grant confirmations, CSAT surveys and digests all go through `OutboundEmail`.
A row is claimed (status `sending`, a lease), sent, and marked `sent` one by one, so a crash resends
only what was in flight, with the same Message-ID so mail clients collapse the copy.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboundEmail(models.Model):
    to = models.JSONField(default=list)
    from_email = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    extra_headers = models.JSONField(default=dict, blank=True)
    # Files carried as MIME parts: [{"name": storage name, "filename", "content_type"}]. They are
    # in raw_message too; this list rebuilds the message if it has to be rendered at send time.
    attachments = models.JSONField(default=list, blank=True)
    # The message as sent, rendered once when the row is made (mailer.rendering.render): the
    # delivery loop sends these bytes as they are, and a resend after a crash is the same message
    # byte for byte (same Message-ID and Date). Null: rendered at send time (rows made before this
    # column, or a message only Django's full renderer could make and that failed to).
    raw_message = models.BinaryField(null=True, blank=True, editable=False)
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    # The SMTP server to send through (mailer.transports): "" global, "mailbox:<id>" a mailbox's.
    transport = models.CharField(max_length=64, blank=True, default="", db_default="")
    status = models.CharField(
        max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What caused it, for display on the ticket ("sent", "retrying", "failed").
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    ticket_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The claim's ORDER BY, so a claim reads its 25 rows off the index instead of
            # fetching and sorting every due row (10,000 due: ~8 ms per claim, bench/followups.py).
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbound_due_order",
                condition=Q(status__in=["queued", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)} ({self.status})"


class CapturedEmail(models.Model):
    """Mail captured instead of sent, in the embedded profile: the outbox page shows these."""

    message_id = models.CharField(max_length=255, blank=True)
    from_email = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    body_text = models.TextField(blank=True)
    raw = models.TextField()
    captured_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-captured_at", "-id"]

    def __str__(self) -> str:
        return self.subject
