"""The help center over HTTP: agents write (`POST`/`PATCH`), anyone searches published articles.

`GET /help/articles` is public (the widget and `/support/new` call it as the customer types, and
it answers CORS like the widget's endpoints); writes need an agent (bearer token or session with
CSRF), as for every router.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NoReturn

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import translation
from ninja import Field, Query, Router, Schema, Status

from accounts.http import AgentRequest
from core import ratelimit
from core.api import ApiError
from helpcenter import services
from helpcenter.models import BODY_MAX, CATEGORY_NAME_MAX, TITLE_MAX, Article, ArticleStatus

router = Router(tags=["help center"])


class ArticleOut(Schema):
    id: int
    url: str = Field(..., description="The public page, on the host asked (published only)")
    title: str
    body: str = Field(..., description="Markdown, as written")
    body_html: str = Field(..., description="Rendered and sanitised")
    category: str = Field(..., description="The category's slug")
    status: Literal["draft", "published"]
    lang: str
    family: str = Field(..., description="Shared by the language versions of one article")
    translations: dict[str, int] = Field(..., description="Other versions: {lang: id}")
    view_count: int
    helpful_count: int
    unhelpful_count: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ArticleIn(Schema):
    title: str = Field(..., max_length=TITLE_MAX)
    body: str = Field(..., max_length=BODY_MAX, description="Markdown; raw HTML is sanitised")
    category: str = Field(..., max_length=CATEGORY_NAME_MAX, description="Name or slug; new: made")
    status: Literal["draft", "published"] = "draft"
    lang: str = Field("en", max_length=16, description="en, es or de")
    translation_of: int | None = Field(
        None, description="Another version's id: this one becomes its translation"
    )


class ArticlePatch(Schema):
    title: str | None = Field(None, max_length=TITLE_MAX)
    body: str | None = Field(None, max_length=BODY_MAX)
    category: str | None = Field(None, max_length=CATEGORY_NAME_MAX)
    status: Literal["draft", "published"] | None = None


class HitOut(Schema):
    id: int
    title: str
    url: str
    snippet: str = Field(..., description="HTML: escaped text, matched words in <mark>")
    lang: str


class HitList(Schema):
    items: list[HitOut]


class SearchFilters(Schema):
    # No max_length: a long question pasted in is cut to its first 200 characters, not refused.
    q: str = Field("", description="Words (first 200 characters); operators and quotes ignored")
    lang: str = Field(
        "",
        max_length=35,
        description="en, es or de (others: English); empty: the request's Accept-Language; "
        "`any`: every language",
    )
    limit: int = Field(5, ge=1, le=services.SEARCH_LIMIT_MAX)


class FeedbackIn(Schema):
    helpful: bool = Field(..., description='true: "This answered my question"; false: not')


class FeedbackOut(Schema):
    recorded: bool


def _raise(exc: services.HelpError) -> NoReturn:
    raise ApiError(exc.status, str(exc), exc.code) from exc


def _out(request: HttpRequest, article: Article) -> dict[str, Any]:
    others = Article.objects.filter(family=article.family).exclude(pk=article.pk)
    return {
        "id": article.pk,
        "url": request.build_absolute_uri(article.get_absolute_url()),
        "title": article.title,
        "body": article.body,
        "body_html": article.body_html,
        "category": article.category.slug,
        "status": article.status,
        "lang": article.lang,
        "family": str(article.family),
        "translations": dict(others.values_list("lang", "pk")),
        "view_count": article.view_count,
        "helpful_count": article.helpful_count,
        "unhelpful_count": article.unhelpful_count,
        "published_at": article.published_at,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
    }


@router.get("/help/articles", auth=None, response=HitList, tags=["help center", "widget"])
def search_articles(request: HttpRequest, filters: Query[SearchFilters]) -> dict[str, Any]:
    """Published articles for `q`, best first, with highlighted snippets (empty q: popular)."""
    if filters.lang == "any":
        hits = services.search_any_language(filters.q, limit=filters.limit)
    else:
        lang = services.resolve_language(
            filters.lang or translation.get_language_from_request(request)
        )
        if filters.q.strip():
            hits = services.search(filters.q, lang=lang, limit=filters.limit)
        else:
            hits = [
                services.Hit(article=a, snippet=services.summary(a))
                for a in services.popular(lang=lang, limit=filters.limit)
            ]
    return {
        "items": [
            {
                "id": h.article.pk,
                "title": h.article.title,
                "url": request.build_absolute_uri(h.article.get_absolute_url()),
                "snippet": h.snippet,
                "lang": h.article.lang,
            }
            for h in hits
        ]
    }


@router.post("/help/articles", response={201: ArticleOut})
def create_article(request: AgentRequest, payload: ArticleIn) -> Status[dict[str, Any]]:
    source = None
    if payload.translation_of is not None:
        source = get_object_or_404(Article, pk=payload.translation_of)
    try:
        article = services.create_article(
            title=payload.title,
            body=payload.body,
            category=payload.category,
            lang=payload.lang,
            status=payload.status,
            translation_of=source,
            by=request.user,
        )
    except services.HelpError as exc:
        _raise(exc)
    return Status(201, _out(request, article))


@router.get("/help/articles/{article_id}", response=ArticleOut)
def get_article(request: HttpRequest, article_id: int) -> dict[str, Any]:
    """Any version, drafts included (agents only)."""
    return _out(
        request, get_object_or_404(Article.objects.select_related("category"), pk=article_id)
    )


@router.patch("/help/articles/{article_id}", response=ArticleOut)
def update_article(request: AgentRequest, article_id: int, payload: ArticlePatch) -> dict[str, Any]:
    article = get_object_or_404(Article, pk=article_id)
    try:
        services.update_article(
            article,
            by=request.user,
            title=payload.title,
            body=payload.body,
            category=payload.category,
            status=payload.status,
        )
    except services.HelpError as exc:
        _raise(exc)
    return _out(request, Article.objects.select_related("category").get(pk=article.pk))


@router.post(
    "/help/articles/{article_id}/feedback",
    auth=None,
    response=FeedbackOut,
    tags=["help center", "widget"],
)
def article_feedback(request: HttpRequest, article_id: int, payload: FeedbackIn) -> dict[str, Any]:
    """Count "This answered my question" (helpful) or "I still need help" for a published one."""
    ratelimit.check(request, "help-feedback")
    article = get_object_or_404(Article, pk=article_id, status=ArticleStatus.PUBLISHED)
    services.record_feedback(article, helpful=payload.helpful)
    return {"recorded": True}
