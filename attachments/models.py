"""Files that travel with conversations: email attachments, uploads by agents, visitors and
customers. One model for all of them, stored through Django's storage API (local MEDIA_ROOT or
S3-compatible object storage, see settings.STORAGES).

An attachment belongs to at most one conversation: a ticket (`ticket`, and `message` once it is
on a message) or a chat (`conversation`, and `chat_message` once sent). An agent's upload belongs
to no conversation until the agent sends it; a visitor's upload belongs to their chat from the
start. Access follows the conversation (attachments.access).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def storage_path(instance: Attachment, filename: str) -> str:
    # A random name: the sender's filename is for display only and never touches the storage.
    return f"attachments/{timezone.now():%Y/%m}/{secrets.token_hex(12)}"


def thumbnail_path(instance: Attachment, filename: str) -> str:
    return f"thumbnails/{timezone.now():%Y/%m}/{secrets.token_hex(12)}"


class Source(models.TextChoices):
    EMAIL = "email", "Inbound email"
    AGENT = "agent", "Agent upload"
    VISITOR = "visitor", "Chat visitor upload"
    WEB = "web", "Web form"


# Raster images browsers show in an <img> without running anything.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class Attachment(models.Model):
    file = models.FileField(upload_to=storage_path, max_length=255)
    thumbnail = models.FileField(upload_to=thumbnail_path, max_length=255, blank=True)
    filename = models.CharField(max_length=255, help_text="Display only, sanitised.")
    content_type = models.CharField(max_length=127, help_text="Decided from the bytes.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    content_id = models.CharField(max_length=255, blank=True, help_text="For inline images (cid:).")
    source = models.CharField(max_length=16, choices=Source.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    conversation = models.ForeignKey(
        "livechat.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="files",
    )
    chat_message = models.ForeignKey(
        "livechat.ChatMessage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="attachment_one_conversation",
                condition=Q(ticket__isnull=True) | Q(conversation__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in INLINE_TYPES

    @property
    def url(self) -> str:
        return f"/attachments/{self.pk}/"

    @property
    def thumbnail_url(self) -> str:
        return f"/attachments/{self.pk}/thumbnail" if self.thumbnail else ""
