"""What privacy keeps of its own: export jobs (a file downloadable once by an expiring link whose
hash only is stored) and erasures (who, when, how much; never the erased data)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    DOWNLOADED = "downloaded", "Downloaded"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="privacy_exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    # SHA-256 of the download link's secret; the secret is shown once, to who asked.
    link_digest = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to="privacy-exports/", blank=True, max_length=255)
    items = models.PositiveIntegerField(default=0)
    # A zip of the JSON document and the person's attachment files, instead of the JSON alone.
    with_attachments = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} of customer {self.customer_id} ({self.status})"


class Erasure(models.Model):
    """One erasure: the subject row stays (anonymous), so the grant ledger keeps its parties."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="erasures"
    )
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(default=dict, help_text="How many rows of each kind were touched.")
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"Erasure of customer {self.customer_id} at {self.erased_at:%Y-%m-%d}"
