"""Business hours: when the team answers. One row (the shop's); written through hours.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BusinessHours(models.Model):
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
        return f"Business hours ({self.timezone})"
