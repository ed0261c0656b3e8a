"""Snippets over HTTP: search (the insert picker's source), create, edit, archive, count a use.

Any employee (every user is an agent or wider) may use and edit snippets; the API's bearer-token
or session auth (with CSRF on writes) applies as for every router.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from accounts.http import AgentRequest
from core.api import ApiError
from snippets import services
from snippets.models import BODY_MAX, SHORTCUT_MAX, TAGS_MAX, TITLE_MAX, Snippet

router = Router(tags=["snippets"])


class SnippetOut(Schema):
    id: int
    title: str
    shortcut: str = Field(..., description='Typed after "/" in a reply box, e.g. size-chart')
    body: str = Field(..., description="Plain text, inserted as is; the agent may edit it")
    tags: list[str]
    usage_count: int
    last_used_at: datetime | None
    archived: bool
    created_at: datetime
    updated_at: datetime


class SnippetList(Schema):
    items: list[SnippetOut]


class SnippetFilters(Schema):
    q: str = Field("", max_length=200, description="Words matched as prefixes; empty: most used")
    limit: int = Field(8, ge=1, le=services.SEARCH_LIMIT_MAX)
    archived: bool = Field(False, description="Search the archived snippets instead")


class SnippetIn(Schema):
    title: str = Field(..., max_length=TITLE_MAX)
    shortcut: str = Field(..., max_length=SHORTCUT_MAX + 1, examples=["size-chart"])
    body: str = Field(..., max_length=BODY_MAX)
    tags: list[str] = Field(default_factory=list, max_length=TAGS_MAX)


class SnippetPatch(Schema):
    title: str | None = Field(None, max_length=TITLE_MAX)
    shortcut: str | None = Field(None, max_length=SHORTCUT_MAX + 1)
    body: str | None = Field(None, max_length=BODY_MAX)
    tags: list[str] | None = Field(None, max_length=TAGS_MAX)
    archived: bool | None = Field(None, description="true archives, false restores")


class UseOut(Schema):
    usage_count: int


def _raise(exc: services.SnippetError) -> NoReturn:
    raise ApiError(exc.status, str(exc), exc.code) from exc


@router.get("/snippets", response=SnippetList)
def list_snippets(request: HttpRequest, filters: Query[SnippetFilters]) -> dict[str, Any]:
    return {"items": services.search(filters.q, limit=filters.limit, archived=filters.archived)}


@router.post("/snippets", response={201: SnippetOut})
def create_snippet(request: AgentRequest, payload: SnippetIn) -> Status[Snippet]:
    try:
        snippet = services.create_snippet(
            title=payload.title,
            shortcut=payload.shortcut,
            body=payload.body,
            tags=payload.tags,
            by=request.user,
        )
    except services.SnippetError as exc:
        _raise(exc)
    return Status(201, snippet)


@router.get("/snippets/{snippet_id}", response=SnippetOut)
def get_snippet(request: HttpRequest, snippet_id: int) -> Snippet:
    return get_object_or_404(Snippet, pk=snippet_id)


@router.patch("/snippets/{snippet_id}", response=SnippetOut)
def update_snippet(request: AgentRequest, snippet_id: int, payload: SnippetPatch) -> Snippet:
    snippet = get_object_or_404(Snippet, pk=snippet_id)
    by = request.user
    try:
        services.update_snippet(
            snippet,
            by=by,
            title=payload.title,
            shortcut=payload.shortcut,
            body=payload.body,
            tags=payload.tags,
        )
    except services.SnippetError as exc:
        _raise(exc)
    if payload.archived is not None and payload.archived != snippet.archived:
        services.set_archived(snippet, archived=payload.archived, by=by)
    return snippet


@router.post("/snippets/{snippet_id}/use", response=UseOut)
def use_snippet(request: AgentRequest, snippet_id: int) -> dict[str, int]:
    """Count one insertion (the picker calls this after inserting; it sends nothing)."""
    snippet = get_object_or_404(Snippet, pk=snippet_id)
    return {"usage_count": services.record_use(snippet, by=request.user)}
