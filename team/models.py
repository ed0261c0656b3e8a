"""Support hours: spans of time an employee had the agent app open and was active in it.

A span is extended by every heartbeat that arrives within `SUPPORTDESK_ACTIVITY_GAP_SECONDS` of
it, whatever its source (a page or the chat console socket); a later heartbeat starts a new span.
Spans of one person never overlap (team.services keeps them apart under a lock on the person),
so two sources beating at once count the time once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ActivitySource(models.TextChoices):
    PAGE = "page", "Agent app page"
    CONSOLE = "console", "Chat console socket"
    DEMO = "demo", "Demo data"


class ActivitySpan(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity_spans"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # last_seen_at - started_at, kept in step so tallies are a portable SUM (SQLite and Postgres).
    seconds = models.PositiveIntegerField(default=0)
    heartbeats = models.PositiveIntegerField(default=1)
    source = models.CharField(
        max_length=16,
        choices=ActivitySource.choices,
        help_text="What sent the heartbeat that opened the span.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["user", "-last_seen_at"], name="team_span_user_seen"),
            models.Index(fields=["started_at"], name="team_span_started"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.started_at:%Y-%m-%d %H:%M} +{self.seconds}s"
