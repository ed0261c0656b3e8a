"""The audit log: one append-only row per change made by a person, a token or the system.

Rows are written by `audit.services.record` inside the transaction of the change they describe.
Nothing edits or removes them: the model refuses, and on Postgres a trigger refuses UPDATE and
DELETE from any client (migration 0001).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class AuditLogError(RuntimeError):
    """An attempt to rewrite the audit log."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditLogError("The audit log is append-only")

    def delete(self) -> Any:
        raise AuditLogError("The audit log is append-only")


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now)
    # No foreign keys: an entry outlives whatever it names, and the log sits below every app.
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="The person (User id).")
    actor = models.CharField(max_length=254, blank=True, help_text="Email, token or 'system'.")
    token_prefix = models.CharField(max_length=16, blank=True)
    via = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor_id", "-id"], name="audit_actor"),
            models.Index(fields=["action", "-id"], name="audit_action"),
            models.Index(fields=["object_type", "object_id", "-id"], name="audit_object"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor or 'system'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogError("The audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AuditLogError("The audit log is append-only")
