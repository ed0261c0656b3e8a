"""WOW credits: grants agents make without approval, their append-only ledger, and the story wall.

A grant is a durable row. It waits out its undo window (`pending`), is claimed by the sweep
(`executing`), is carried out by a commerce backend (`executed`), or ends `failed`/`undone`. Every
transition appends a `GrantEvent`; the ledger is never edited, corrections are new entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class LedgerError(RuntimeError):
    """An attempt to rewrite history (edit or delete a ledger row, change a grant's money)."""


class GrantKind(models.TextChoices):
    REFUND = "refund", "Refund"
    VIP_UPGRADE = "vip_upgrade", "VIP upgrade"
    GIFT = "gift", "Gift"
    DISCOUNT_CODE = "discount_code", "Discount code"
    REBATE = "rebate", "Rebate"
    OVERNIGHT_RESHIP = "overnight_reship", "Overnight reship"
    REROUTE_OVERNIGHT = "reroute_overnight", "Reroute to overnight"
    COWORKER_BONUS = "coworker_bonus", "Coworker bonus"


class GrantStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    EXECUTING = "executing", "Executing"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    UNDONE = "undone", "Undone"


# Set at creation and never changed: what was granted, to whom, by whom and why.
IMMUTABLE_GRANT_FIELDS = frozenset(
    {
        "kind",
        "agent",
        "agent_id",
        "customer",
        "customer_id",
        "order",
        "order_id",
        "recipient_user",
        "recipient_user_id",
        "amount",
        "currency",
        "reason",
        "idempotency_key",
        "request_hash",
        "details",
        "unverified_chat",
        "created_at",
    }
)


class Grant(models.Model):
    kind = models.CharField(max_length=32, choices=GrantKind.choices)
    status = models.CharField(
        max_length=16, choices=GrantStatus.choices, default=GrantStatus.PENDING
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants_given"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants",
    )
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="grants"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bonuses_received",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    # livechat is a separate app built in parallel: keep the conversation id, no FK.
    chat_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    unverified_chat = models.BooleanField(
        default=False,
        help_text="Made in a chat whose visitor had not proven their email: nothing of it is "
        "posted into the chat; the customer hears by email only.",
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    undo_until = models.DateTimeField()
    execute_after = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    external_ref = models.CharField(max_length=200, blank=True)
    outcome = models.TextField(blank=True, help_text="What was made right, told to the customer.")
    created_at = models.DateTimeField(default=timezone.now)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "idempotency_key"], name="grant_agent_idempotency_key"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="grant_reason_required"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="grant_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(
                fields=["execute_after"],
                name="grant_due",
                condition=Q(status__in=["pending", "executing"]),
            ),
            models.Index(fields=["order", "kind"], name="grant_order_kind"),
            models.Index(fields=["customer", "-created_at"], name="grant_customer_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Money and intent are fixed at creation: an existing row may only be saved with
        # explicit update_fields that leave them alone.
        if self.pk is not None and not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or IMMUTABLE_GRANT_FIELDS.intersection(fields):
                raise LedgerError("A grant's kind, parties, amount and reason never change")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise LedgerError("Grants are never deleted; undo or compensate instead")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise LedgerError("The grant ledger is append-only")

    def delete(self) -> Any:
        raise LedgerError("The grant ledger is append-only")


class GrantEvent(models.Model):
    """One status transition of a grant. Append-only: written once, never changed or removed."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]  # the order of appending is the order of history

    def __str__(self) -> str:
        return f"{self.grant_id}: {self.from_status or '∅'} → {self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerError("The grant ledger is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise LedgerError("The grant ledger is append-only")


class DiscountCode(models.Model):
    code = models.CharField(max_length=40, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    percent = models.PositiveSmallIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    expires_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="discount_codes",
    )
    # One code per grant: a re-run of an execution finds the code instead of minting another.
    grant = models.OneToOneField(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="discount_code"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.code


class LocalEffect(models.Model):
    """What the local commerce backend did for a grant; its unique grant makes re-runs no-ops."""

    grant = models.OneToOneField(Grant, on_delete=models.PROTECT, related_name="local_effect")
    shipment = models.ForeignKey(
        "customers.Shipment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Effect of grant {self.grant_id}"


class CoreValue(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Story(models.Model):
    title = models.CharField(max_length=200)
    story = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stories_written"
    )
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stories_about",
        help_text="The coworker this story is about, when it is not the author.",
    )
    ticket_id = models.BigIntegerField(null=True, blank=True)
    chat_id = models.BigIntegerField(null=True, blank=True)
    grants = models.ManyToManyField(Grant, blank=True, related_name="stories")
    values = models.ManyToManyField(CoreValue, blank=True, related_name="stories")
    created_at = models.DateTimeField(default=timezone.now)

    # Not a field: the wall's sum of the story's grants, for its template (wow_credits/views.py).
    cost: Decimal | int

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "stories"

    def __str__(self) -> str:
        return self.title


class DigestRun(models.Model):
    """One row per month whose digest was queued: the sweep sends each month's digest once."""

    month = models.DateField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Digest {self.month:%Y-%m}"


class Celebration(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="celebrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="celebrations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "user"], name="celebrate_once_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} celebrates {self.story_id}"
