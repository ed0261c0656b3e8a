"""Business hours: when the team answers. One row for the shop (team null) and optionally one per
team (a team without its own row keeps the shop's); written through hours.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class BusinessHours(models.Model):
    team = models.OneToOneField(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="business_hours",
    )
    timezone = models.CharField(max_length=64, default="UTC")
    # {"mon": [["09:00", "17:00"]], ...}: open ranges per weekday, local time; a missing day is
    # closed. Validated by services.clean_week (no overlaps, starts before ends).
    week = models.JSONField(default=dict)
    # ["2026-12-25", ...]: whole local days closed, any year.
    holidays = models.JSONField(default=list)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return f"Business hours ({self.team or 'shop'}, {self.timezone})"


class Acknowledgement(models.Model):
    """One out-of-hours acknowledgement email: at most one per customer per local day (the
    shop's timezone), decided by the unique constraint, so two mails racing in send one."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    opens_at = models.DateTimeField(null=True, blank=True)  # what the email promised
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "day"], name="hours_one_ack_per_day")
        ]

    def __str__(self) -> str:
        return f"Out-of-hours acknowledgement for ticket {self.ticket_id} on {self.day}"
