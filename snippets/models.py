"""Snippets: short facts (size charts, shipping times, return rules) agents insert into replies.

Facts, never scripts: a snippet is plain text the agent may insert and edit before sending; nothing
is sent automatically. Writes go through `snippets.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

SHORTCUT_MAX = 50
TITLE_MAX = 200
BODY_MAX = 5000
TAG_MAX = 30
TAGS_MAX = 10


class Snippet(models.Model):
    title = models.CharField(max_length=TITLE_MAX)
    # What the agent types after "/" in a reply box, e.g. "size-chart". Unique, archived included,
    # so restoring an archived snippet never collides.
    shortcut = models.SlugField(max_length=SHORTCUT_MAX, unique=True)
    body = models.TextField(max_length=BODY_MAX)
    tags = models.JSONField(default=list, blank=True)
    # Title, shortcut, tags and body in one lower-cased string: a GIN expression index on it serves
    # Postgres full-text search (migration 0002); SQLite matches words in it.
    search_document = models.TextField(blank=True, default="", editable=False)
    usage_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-usage_count", "title"]
        indexes = [models.Index(fields=["archived", "-usage_count"], name="snippet_popular")]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class SnippetUse(models.Model):
    """One insertion of a snippet by an agent: who relies on which facts, and when."""

    snippet = models.ForeignKey(Snippet, on_delete=models.CASCADE, related_name="uses")
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["snippet", "-used_at"], name="snippet_use_recent")]

    def __str__(self) -> str:
        return f"/{self.snippet_id} used at {self.used_at:%Y-%m-%d %H:%M}"
