"""Tickets: conversations by email, web form, API and escalated chats, and the raw mail behind them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")
    SPAM = "spam", _("Spam")


OPEN_STATUSES = (Status.NEW, Status.OPEN)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketType(models.TextChoices):
    QUESTION = "question", _("Question")
    PROBLEM = "problem", _("Problem")
    CARE = "care", _("Proactive care")
    TASK = "task", _("Task")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    API = "api", _("API")
    CHAT = "chat", _("Chat")


def new_reference() -> str:
    return secrets.token_hex(5)


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    type = models.CharField(max_length=16, choices=TicketType.choices, default=TicketType.QUESTION)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    # The token in reply addresses (support+<reference>@domain) that routes replies back here.
    reference = models.CharField(max_length=16, unique=True, default=new_reference)
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    care_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Identifies the problem a care task was opened for, so a sweep opens it once.",
    )
    # The shop mailbox (mailboxes/) the ticket came in through; replies go out from its address.
    mailbox = models.ForeignKey(
        "mailboxes.Mailbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    solved_at = models.DateTimeField(null=True, blank=True)
    # A merged ticket is a pointer: its messages moved to `merged_into`, mail to it lands there.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    # What "not spam" restores.
    status_before_spam = models.CharField(max_length=16, blank=True, default="")
    # Subject, customer and message text, indexed by a GIN expression index on Postgres.
    search_document = models.TextField(blank=True, default="")
    # What an inbox row needs, kept by the services in the transaction of each message, so a page
    # reads columns instead of each ticket's latest message (tickets/waits.py for the due times).
    last_message_preview = models.CharField(max_length=160, blank=True, default="")
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    # Since when the customer has been waiting for an answer (their message no agent has answered
    # publicly yet, on a new or open ticket); None when nobody is waiting on us.
    customer_waiting_since = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # When the customer will have waited too long: for a first reply, and for a resolution.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Keyset pagination: every inbox view orders by (updated_at desc, id desc).
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_id"),
            models.Index(fields=["status", "-updated_at", "-id"], name="ticket_status_updated"),
            models.Index(
                fields=["assignee", "status", "-updated_at", "-id"], name="ticket_assignee_status"
            ),
            models.Index(
                fields=["type", "status", "-updated_at", "-id"], name="ticket_type_status"
            ),
            models.Index(
                fields=["-updated_at", "-id"],
                name="ticket_unassigned_open",
                condition=Q(assignee__isnull=True, status__in=["new", "open"]),
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_created"),
            # The default "open" view (status new or open): a single ordered range, so a deep
            # keyset page reads one page; ticket_status_updated needed a sort over both statuses.
            models.Index(
                fields=["-updated_at", "-id"],
                name="ticket_open_updated",
                condition=Q(status__in=["new", "open"]),
            ),
            # "My care tasks" (and its count): an agent's running care tasks are a few among
            # the agent's tickets and among all care tasks; the FK index and ticket_type_status
            # met in a bitmap of ~50k entries (8 ms at 1M tickets), this reads the few.
            models.Index(
                fields=["assignee", "-updated_at", "-id"],
                name="ticket_care_assignee",
                condition=Q(type="care", status__in=["new", "open", "pending"]),
            ),
            # "Waiting longest": open tickets whose customer waits, the longest wait first.
            models.Index(
                fields=["customer_waiting_since", "id"],
                name="ticket_waiting_longest",
                condition=Q(status__in=["new", "open"], customer_waiting_since__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AuthorType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_type = models.CharField(max_length=16, choices=AuthorType.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    internal = models.BooleanField(
        default=False, help_text="An internal note, never sent to the customer."
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    body_text = models.TextField(blank=True)
    # Already sanitised with nh3 when stored; sanitised again on display would be harmless but wasteful.
    body_html = models.TextField(blank=True)
    # RFC 5322 Message-ID of the email that carried this message, in or out (with angle brackets).
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    is_auto_reply = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"])]

    def __str__(self) -> str:
        return f"Message {self.pk} on ticket {self.ticket_id}"


def attachment_path(instance: object, filename: str) -> str:
    """Kept for migration 0001; attachments now live in the `attachments` app."""
    return f"attachments/{timezone.now():%Y/%m}/{secrets.token_hex(8)}"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (duplicate or loop)"
    FAILED = "failed", "Failed"


class InboundEmail(models.Model):
    """Every message received, stored raw before parsing, so nothing accepted is ever lost."""

    raw = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    source = models.CharField(max_length=16, default="webhook")
    message_id = models.CharField(max_length=255, blank=True)
    content_hash = models.CharField(max_length=64)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    # The mailbox it was fetched from (IMAP), so a retry files it on the same mailbox.
    mailbox = models.ForeignKey(
        "mailboxes.Mailbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # A legitimately reused Message-ID with other content is a new message, not a duplicate.
            models.UniqueConstraint(fields=["message_id", "content_hash"], name="inbound_dedupe"),
        ]
        indexes = [models.Index(fields=["status", "-received_at"])]

    def __str__(self) -> str:
        return f"Inbound {self.pk} ({self.status})"


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class FollowUp(models.Model):
    """A reply to send later. A row swept when due, never a broker timer (see TRAPS.md)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="follow_ups")
    body = models.TextField()
    send_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["send_at"]
        indexes = [
            models.Index(fields=["send_at"], name="followup_due", condition=Q(status="scheduled")),
        ]

    def __str__(self) -> str:
        return f"Follow-up on #{self.ticket_id} at {self.send_at:%Y-%m-%d %H:%M}"


class BlockedSender(models.Model):
    """An address (`someone@example.com`) or a whole domain (`example.com`) whose mail goes
    straight to spam: no acknowledgement, survey or notification."""

    pattern = models.CharField(max_length=254, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pattern"]

    def __str__(self) -> str:
        return self.pattern

    @property
    def is_domain(self) -> bool:
        return "@" not in self.pattern


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class BulkJob(models.Model):
    """A bulk action over a large selection, worked in the background; its progress is this row.

    Claimed by a Celery task (and by the sweep if the task was lost) with SKIP LOCKED; each ticket
    goes through the same service as a single change, so a crash resumes from `done`."""

    action = models.CharField(max_length=16)
    value = models.CharField(max_length=255, blank=True)
    ids = models.JSONField(default=list)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=16, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    updated = models.JSONField(default=list)
    failed = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="bulkjob_open", condition=~Q(status="done"))
        ]

    def __str__(self) -> str:
        return f"Bulk {self.action} {self.done}/{self.total}"


class SavedView(models.Model):
    """A named combination of inbox filters; personal, or shared with everyone."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    filters = models.JSONField(default=dict)
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"]), models.Index(fields=["shared", "name"])]

    def __str__(self) -> str:
        return self.name


class TicketView(models.Model):
    """Who has a ticket open right now, for collision warnings. Refreshed by a heartbeat."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="viewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="one_view_per_agent")
        ]

    def __str__(self) -> str:
        return f"agent {self.user_id} viewing #{self.ticket_id}"


class TicketRead(models.Model):
    """When an agent last opened a ticket: a ticket with customer messages after it is unread for
    them. One small row per (agent, ticket) they opened, upserted by the ticket page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "ticket"], name="one_read_marker_per_agent")
        ]

    def __str__(self) -> str:
        return f"agent {self.user_id} read #{self.ticket_id} at {self.read_at:%Y-%m-%d %H:%M}"
