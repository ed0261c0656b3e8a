"""The help center: articles agents write in Markdown, in categories, one row per language version.

Versions of one article share a `family` (a UUID): the English and the Spanish text of "How do
I return an item?" are two rows with the same family and different `lang`. Every save keeps a
revision. Writes go through `helpcenter.services`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse

TITLE_MAX = 200
BODY_MAX = 50_000
CATEGORY_NAME_MAX = 80

# Language code -> Postgres text search configuration (stemming and stop words).
LANGUAGES: dict[str, str] = {"en": "english", "es": "spanish", "de": "german"}
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Español", "de": "Deutsch"}
DEFAULT_LANGUAGE = "en"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Category(models.Model):
    slug = models.SlugField(max_length=CATEGORY_NAME_MAX, unique=True)
    # {"en": "Returns", "es": "Devoluciones"}: the name shown in each language (English fallback).
    names = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name_for(DEFAULT_LANGUAGE)

    def get_absolute_url(self) -> str:
        return reverse("helpcenter:category", args=[self.slug])

    def name_for(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get(DEFAULT_LANGUAGE) or self.slug


class Article(models.Model):
    family = models.UUIDField(default=uuid.uuid4, editable=False)
    lang = models.CharField(max_length=8, default=DEFAULT_LANGUAGE)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    title = models.CharField(max_length=TITLE_MAX)
    slug = models.SlugField(max_length=80, allow_unicode=False)
    body = models.TextField(max_length=BODY_MAX)  # Markdown, as the agent wrote it
    body_html = models.TextField(blank=True, default="", editable=False)  # rendered, sanitised
    body_text = models.TextField(blank=True, default="", editable=False)  # plain text, for search
    status = models.CharField(
        max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    published_at = models.DateTimeField(null=True, blank=True)
    # Postgres only: title (weight A) and text (weight B) under the language's configuration,
    # written by services; one partial GIN index per language (migration 0002).
    search_vector = SearchVectorField(null=True, editable=False)
    view_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    unhelpful_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["family", "lang"], name="help_one_version_per_lang"),
        ]
        indexes = [
            models.Index(fields=["lang", "status", "-view_count"], name="help_popular"),
            models.Index(fields=["category", "lang", "status"], name="help_by_category"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.lang})"

    def get_absolute_url(self) -> str:
        return reverse("helpcenter:article", args=[self.pk, self.slug or "article"])

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED

    @property
    def absolute_url(self) -> str:
        return settings.SITE_URL + self.get_absolute_url()


class ArticleRevision(models.Model):
    """The article as it was after one save: who changed what, and when."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=TITLE_MAX)
    body = models.TextField()
    status = models.CharField(max_length=12, choices=ArticleStatus.choices)
    category_slug = models.CharField(max_length=CATEGORY_NAME_MAX)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.article_id} at {self.created_at:%Y-%m-%d %H:%M}"


class MissedSearch(models.Model):
    """A search that found nothing, counted per normalised query and language."""

    query = models.CharField(max_length=200)
    lang = models.CharField(max_length=8)
    count = models.PositiveIntegerField(default=0)
    last_searched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["query", "lang"], name="help_missed_once"),
        ]
        indexes = [models.Index(fields=["-count"], name="help_missed_top")]

    def __str__(self) -> str:
        return f"{self.query!r} ({self.lang}) x{self.count}"
