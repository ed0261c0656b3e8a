"""Proactive care: why a care ticket was opened and what WOW the agent might offer.

The ticket itself (type "care", unique `care_key`) is the task agents work; this row keeps the
problem behind it, so the ticket page can say why and prefill the grant dialog.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tickets.models import Ticket


class CareReason(models.TextChoices):
    PAST_PROMISED = "past_promised", "Past the promised delivery date"
    NO_SCAN = "no_scan", "No carrier scan"
    FLAGGED_LATE = "flagged_late", "Flagged late by the shop"
    PAYMENT = "payment", "Payment problem"
    ADDRESS = "address", "Address problem"
    ORDER_OTHER = "order_other", "Order problem"


class CareTask(models.Model):
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="care_task")
    reason = models.CharField(max_length=16, choices=CareReason.choices)
    detail = models.TextField(blank=True)
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipment = models.ForeignKey(
        "customers.Shipment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A wow_credits GrantKind value; a suggestion only, the agent decides.
    suggested_grant = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the sweep when the problem went away (delivered, the shop cleared it). The ticket is
    # left as the agent left it: a resolved problem never reopens or closes a task by itself.
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], name="care_unresolved", condition=models.Q(resolved_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"Care task for ticket {self.ticket_id} ({self.reason})"

    @property
    def suggested_grant_label(self) -> str:
        from wow_credits.models import GrantKind

        return dict(GrantKind.choices).get(self.suggested_grant, "")
