"""Live chat records: conversations, their numbered messages, and agent presence.

A chat message row is the record; the channel layer only hints that a row exists. Every message
gets the next `seq` of its conversation (taken from `Conversation.last_seq` under the row lock),
so clients can tell a gap and ask to resume from the last number they saw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from attachments.models import Attachment


class ConversationStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class Conversation(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.EmailField(blank=True)
    verified = models.BooleanField(
        default=False, help_text="The email was proven by the shop's user_hash."
    )
    status = models.CharField(
        max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.WAITING
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    last_seq = models.PositiveIntegerField(default=0)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        help_text="Set when the chat was escalated to email.",
    )
    page_url = models.URLField(max_length=1000, blank=True)
    # The team that answers it (the widget's `team` option or a page-prefix rule; a transfer to a
    # team changes it). With automatic routing only its members are offered the chat.
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="chats"
    )
    # The widget's language (its `lang` option, the page's <html lang> or the browser's): chat
    # emails (code, transcript, survey) are written in it.
    language = models.CharField(max_length=8, blank=True, default="")
    # The order a verified visitor asked about ("Ask about this order" in the widget): the agent's
    # sidebar opens on it.
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Handle time is recorded for information only: nothing nags or times out on it.
    joined_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # What the unanswered-chat sweep last emailed the assignee about (once per stretch, no bursts).
    notified_seq = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-created_at"], name="livechat_conv_status"),
            # Routing counts each agent's open chats under lock (livechat/routing.py).
            models.Index(fields=["assignee", "status"], name="livechat_conv_assignee"),
        ]

    def __str__(self) -> str:
        return f"Chat {self.pk} with {self.visitor_display_name}"

    @property
    def visitor_display_name(self) -> str:
        return visitor_display_name(self.visitor_name, self.visitor_email)


def visitor_display_name(name: str, email: str) -> str:
    """What agents call a visitor: the name given, else the email's local part."""
    return name or email.split("@")[0] or "Visitor"


class EmailVerification(models.Model):
    """A one-time code emailed to the address an unverified visitor claims; proving it links the
    chat to that customer. Only a keyed hash of the code is stored."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="email_verifications"
    )
    email = models.EmailField()
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "-created_at"], name="livechat_verif")]

    def __str__(self) -> str:
        return f"Verification of chat {self.conversation_id}"


class ChatAuthorType(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class ChatMessage(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField()
    client_id = models.CharField(max_length=64, blank=True, default="")
    author_type = models.CharField(max_length=16, choices=ChatAuthorType.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_name = models.CharField(max_length=200, blank=True)
    # The author was a trainee when they wrote it: agents see a "trainee" badge on the line.
    author_trainee = models.BooleanField(default=False)
    body = models.TextField()
    sent_at = models.DateTimeField(default=timezone.now)

    # Not a field: the files bound to a new line in its transaction, read by events.message_frame.
    files: list[Attachment]

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="livechat_msg_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=~Q(client_id=""),
                name="livechat_msg_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in chat {self.conversation_id}"


class PresenceStatus(models.TextChoices):
    ONLINE = "online", "Online"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class AgentPresence(models.Model):
    """Presence from open agent sockets: `sockets` counts them, `last_seen` is the heartbeat.

    A process that dies cannot decrement `sockets`, so readers also require a recent heartbeat.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presence"
    )
    status = models.CharField(
        max_length=16, choices=PresenceStatus.choices, default=PresenceStatus.OFFLINE
    )
    sockets = models.IntegerField(default=0)
    last_seen = models.DateTimeField(default=timezone.now)
    # Routing (livechat/routing.py): ties between equally busy agents go to the one assigned
    # longest ago (round-robin); `away_since` starts the grace period before their unanswered
    # chats are re-queued (set when the agent goes away or their last socket closes).
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    away_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} {self.status}"
