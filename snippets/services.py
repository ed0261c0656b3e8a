"""The one way to change snippets: create, update, archive/restore, search, and count a use.

Snippets are plain text facts. They are inserted into a reply or chat box by the agent, who can
edit them and still has to press Send: nothing here sends anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.utils import timezone

from accounts.models import User
from snippets.models import (
    BODY_MAX,
    SHORTCUT_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    Snippet,
    SnippetUse,
)

SHORTCUT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_WORD = re.compile(r"\w+", re.UNICODE)
SEARCH_LIMIT_MAX = 100


class SnippetError(ValueError):
    """A refused snippet change; `status` is the HTTP status an API answers with."""

    def __init__(self, detail: str, *, code: str, status: int = 422, field: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.status = status
        self.field = field


class ShortcutTaken(SnippetError):
    def __init__(self, shortcut: str) -> None:
        super().__init__(
            f"The shortcut /{shortcut} is already used by another snippet",
            code="shortcut_taken",
            status=409,
            field="shortcut",
        )


# --- validation ------------------------------------------------------------------------------


def clean_shortcut(value: str) -> str:
    shortcut = value.strip().lstrip("/").lower()
    if not shortcut:
        raise SnippetError("A shortcut is required", code="invalid_shortcut", field="shortcut")
    if len(shortcut) > SHORTCUT_MAX or not SHORTCUT_RE.match(shortcut):
        raise SnippetError(
            f"A shortcut is up to {SHORTCUT_MAX} lower-case letters, digits and single hyphens, "
            "like size-chart",
            code="invalid_shortcut",
            field="shortcut",
        )
    return shortcut


def clean_title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise SnippetError("A title is required", code="invalid_title", field="title")
    if len(title) > TITLE_MAX:
        raise SnippetError(
            f"A title is at most {TITLE_MAX} characters", code="invalid_title", field="title"
        )
    return title


def clean_body(value: str) -> str:
    body = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise SnippetError("The snippet text is required", code="invalid_body", field="body")
    if len(body) > BODY_MAX:
        raise SnippetError(
            f"The snippet text is at most {BODY_MAX} characters", code="invalid_body", field="body"
        )
    return body


def clean_tags(values: Iterable[str]) -> list[str]:
    tags: list[str] = []
    for raw in values:
        tag = " ".join(str(raw).split()).lower()
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX:
            raise SnippetError(
                f"A tag is at most {TAG_MAX} characters", code="invalid_tags", field="tags"
            )
        tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise SnippetError(f"At most {TAGS_MAX} tags", code="invalid_tags", field="tags")
    return tags


def parse_tags(text: str) -> list[str]:
    """Tags typed as one comma-separated field, as on the snippet form."""
    return clean_tags(text.split(","))


def _document(snippet: Snippet) -> str:
    return " ".join([snippet.title, snippet.shortcut, " ".join(snippet.tags), snippet.body]).lower()


def _ensure_free(shortcut: str, *, exclude_pk: int | None = None) -> None:
    taken = Snippet.objects.filter(shortcut=shortcut)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ShortcutTaken(shortcut)


# --- writes ----------------------------------------------------------------------------------


def create_snippet(
    *, title: str, shortcut: str, body: str, tags: Iterable[str] = (), by: User
) -> Snippet:
    snippet = Snippet(
        title=clean_title(title),
        shortcut=clean_shortcut(shortcut),
        body=clean_body(body),
        tags=clean_tags(tags),
        created_by=by,
        updated_by=by,
    )
    snippet.search_document = _document(snippet)
    _ensure_free(snippet.shortcut)
    try:
        with transaction.atomic():
            snippet.save()
    except IntegrityError:
        # Two agents picked the same shortcut at the same moment: the unique index decides.
        raise ShortcutTaken(snippet.shortcut) from None
    return snippet


def update_snippet(
    snippet: Snippet,
    *,
    by: User,
    title: str | None = None,
    shortcut: str | None = None,
    body: str | None = None,
    tags: Iterable[str] | None = None,
) -> Snippet:
    """Change the given fields (None leaves one as it is).

    Saves only the edited columns, so a use counted meanwhile (`record_use`) is never overwritten
    with this instance's stale `usage_count`.
    """
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = clean_title(title)
    if shortcut is not None:
        changes["shortcut"] = clean_shortcut(shortcut)
        _ensure_free(str(changes["shortcut"]), exclude_pk=snippet.pk)
    if body is not None:
        changes["body"] = clean_body(body)
    if tags is not None:
        changes["tags"] = clean_tags(tags)
    try:
        with transaction.atomic():
            locked = Snippet.objects.select_for_update().get(pk=snippet.pk)
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.search_document = _document(locked)
            locked.updated_by = by
            locked.save(update_fields=[*changes, "search_document", "updated_by", "updated_at"])
    except IntegrityError:
        raise ShortcutTaken(str(changes.get("shortcut", snippet.shortcut))) from None
    snippet.refresh_from_db()
    return snippet


def set_archived(snippet: Snippet, *, archived: bool, by: User) -> Snippet:
    """Archive (hide from search and the picker) or restore a snippet; its history stays."""
    Snippet.objects.filter(pk=snippet.pk).update(
        archived=archived, updated_by=by, updated_at=timezone.now()
    )
    snippet.refresh_from_db()
    return snippet


def record_use(snippet: Snippet, *, by: User) -> int:
    """Count one insertion and return the new count.

    One UPDATE with `usage_count + 1` in the database: concurrent uses each add one, with no
    read-modify-write race and no lock held beyond the statement.
    """
    now = timezone.now()
    with transaction.atomic():
        Snippet.objects.filter(pk=snippet.pk).update(
            usage_count=F("usage_count") + 1, last_used_at=now
        )
        SnippetUse.objects.create(snippet_id=snippet.pk, used_by=by)
        count = Snippet.objects.filter(pk=snippet.pk).values_list("usage_count", flat=True).get()
    snippet.usage_count = count
    snippet.last_used_at = now
    return count


# --- reads -----------------------------------------------------------------------------------


class _SimpleTsVector(Func):
    # Exactly the expression of the GIN index in migration 0002, so Postgres can use the index.
    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()


def search(q: str = "", *, limit: int = 8, archived: bool = False) -> list[Snippet]:
    """At most `limit` (capped at SEARCH_LIMIT_MAX) snippets for `q`, best first."""
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    return list(search_queryset(q, archived=archived)[:limit])


def search_queryset(q: str = "", *, archived: bool = False) -> QuerySet[Snippet]:
    """Snippets matching every word of `q` as a prefix (title, shortcut, tags, body).

    Best first: the exact shortcut, then shortcuts starting with the query, then (Postgres) the
    text rank, then the most used. An empty query lists the most used. Postgres uses full-text
    search with prefix matching ("ship" finds "shipping") on a GIN index; SQLite (`make demo`)
    matches the words as substrings.
    """
    qs: QuerySet[Snippet] = Snippet.objects.filter(archived=archived)
    query = q.strip().lstrip("/").lower()[:200]
    words = [w.lower() for w in _WORD.findall(query)][:8]
    if query and not words:
        return qs.none()  # only punctuation: nothing can match
    order: list[str | Combinable] = []
    if words:
        prefix = query.split()[0]
        # alias(), not annotate(): computed for the WHERE and ORDER BY only, never selected.
        qs = qs.alias(
            shortcut_match=Case(
                When(shortcut=prefix, then=Value(0)),
                When(shortcut__startswith=prefix, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        order.append("shortcut_match")
        if connection.vendor == "postgresql":
            # Words are \w+ only, so they cannot carry tsquery operators; ":*" makes each a prefix.
            tsquery = SearchQuery(
                " & ".join(f"{w}:*" for w in words), config="simple", search_type="raw"
            )
            vector = _SimpleTsVector(F("search_document"))
            qs = qs.alias(document=vector, rank=SearchRank(vector, tsquery)).filter(
                Q(document=tsquery) | Q(shortcut__startswith=prefix)
            )
            order.append(F("rank").desc())
        else:
            condition = Q()
            for word in words:
                condition &= Q(search_document__contains=word)
            qs = qs.filter(condition | Q(shortcut__startswith=prefix))
    order += [F("usage_count").desc(), "title", "pk"]
    return qs.order_by(*order)
