"""The one way to change and read the help center: write, publish, translate, search, count.

Articles are Markdown rendered with Python-Markdown, then sanitised with nh3 (no scripts, no
iframes, no event handlers, no `javascript:` links), so a body is safe to show whatever an agent
pasted. Search is Postgres full-text under the article's language configuration (English,
Spanish, German stemming) on a stored, weighted tsvector with one partial GIN index per language;
on SQLite (`make demo`) it matches words as substrings.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import markdown
import nh3
from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from helpcenter.models import (
    BODY_MAX,
    CATEGORY_NAME_MAX,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    TITLE_MAX,
    Article,
    ArticleRevision,
    ArticleStatus,
    Category,
    MissedSearch,
)

QUERY_MAX = 200  # characters of a search actually used; the rest is ignored, never an error
QUERY_WORDS_MAX = 12
SEARCH_LIMIT_MAX = 50
_WORD = re.compile(r"\w+", re.UNICODE)
# Markers ts_headline puts around matches; private-use characters no article contains.
_MARK_START, _MARK_STOP = "\ue000", "\ue001"

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s",
    "small", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


class HelpError(ValueError):
    """A refused help center change; `status` is the HTTP status an API answers with."""

    def __init__(self, detail: str, *, code: str, status: int = 422, field: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.status = status
        self.field = field


# --- language --------------------------------------------------------------------------------


def resolve_language(code: str | None) -> str:
    """A supported language for `code` ("es", "es-MX", "ES_es"); anything else is English."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def clean_language(code: str) -> str:
    """The language of an article being written: must be one we ship, or 422."""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    if base not in LANGUAGES:
        supported = ", ".join(LANGUAGES)
        raise HelpError(
            f"Unknown language {code!r}; supported: {supported}", code="invalid_lang", field="lang"
        )
    return base


# --- rendering -------------------------------------------------------------------------------


def render_markdown(body: str) -> str:
    """Markdown to safe HTML: raw HTML in the source is sanitised, never trusted."""
    raw = markdown.markdown(body, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def plain_text(body_html: str) -> str:
    text = nh3.clean(body_html, tags=set(), attributes={})
    return " ".join(html.unescape(text).split())


def summary(article: Article, length: int = 160) -> str:
    """The meta description: the start of the text, cut at a word."""
    text = article.body_text
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"


# --- validation ------------------------------------------------------------------------------


def clean_title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise HelpError("A title is required", code="invalid_title", field="title")
    if len(title) > TITLE_MAX:
        raise HelpError(
            f"A title is at most {TITLE_MAX} characters", code="invalid_title", field="title"
        )
    return title


def clean_body(value: str) -> str:
    body = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise HelpError("The article text is required", code="invalid_body", field="body")
    if len(body) > BODY_MAX:
        raise HelpError(
            f"The article text is at most {BODY_MAX} characters", code="invalid_body", field="body"
        )
    return body


def clean_status(value: str) -> str:
    if value not in ArticleStatus.values:
        raise HelpError("status must be draft or published", code="invalid_status", field="status")
    return value


def category_for(name: str, *, lang: str = DEFAULT_LANGUAGE) -> Category:
    """The category with this slug or name, made on first use (agents name it as they write)."""
    label = " ".join(name.split())
    slug = slugify(label)[:CATEGORY_NAME_MAX]
    if not slug:
        raise HelpError("A category is required", code="invalid_category", field="category")
    category = Category.objects.filter(slug=slug).first()
    if category is not None:
        return category
    try:
        with transaction.atomic():
            return Category.objects.create(slug=slug, names={lang: label})
    except IntegrityError:  # made by someone else meanwhile
        return Category.objects.get(slug=slug)


# --- writes ----------------------------------------------------------------------------------


def _index(article: Article) -> None:
    """Refresh the stored search vector (Postgres) from the title and the plain text."""
    if connection.vendor != "postgresql":
        return
    config = LANGUAGES[article.lang]
    Article.objects.filter(pk=article.pk).update(
        search_vector=SearchVector("title", weight="A", config=config)
        + SearchVector("body_text", weight="B", config=config)
    )


def _revise(article: Article, *, by: User | None) -> None:
    ArticleRevision.objects.create(
        article=article,
        title=article.title,
        body=article.body,
        status=article.status,
        category_slug=article.category.slug,
        edited_by=by,
    )


def create_article(
    *,
    title: str,
    body: str,
    category: str,
    lang: str = DEFAULT_LANGUAGE,
    status: str = ArticleStatus.DRAFT,
    translation_of: Article | None = None,
    by: User | None,
) -> Article:
    """A new article, or a new language version of `translation_of` (same family)."""
    lang = clean_language(lang)
    article = Article(
        title=clean_title(title),
        body=clean_body(body),
        lang=lang,
        status=clean_status(status),
        category=category_for(category, lang=lang),
        created_by=by,
        updated_by=by,
    )
    if translation_of is not None:
        article.family = translation_of.family
        if Article.objects.filter(family=article.family, lang=lang).exists():
            raise HelpError(
                f"This article already has a {lang} version",
                code="translation_exists",
                status=409,
                field="lang",
            )
    article.slug = slugify(article.title)[:80] or "article"
    article.body_html = render_markdown(article.body)
    article.body_text = plain_text(article.body_html)
    if article.is_published:
        article.published_at = timezone.now()
    try:
        with transaction.atomic():
            article.save()
            _index(article)
            _revise(article, by=by)
    except IntegrityError:
        raise HelpError(
            f"This article already has a {lang} version",
            code="translation_exists",
            status=409,
            field="lang",
        ) from None
    return article


def update_article(
    article: Article,
    *,
    by: User | None,
    title: str | None = None,
    body: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> Article:
    """Change the given fields (None leaves one as it is) and keep a revision.

    The row is locked for the edit, and the counters (views, feedback) are not among the saved
    columns, so a view counted meanwhile is never overwritten.
    """
    with transaction.atomic():
        locked = Article.objects.select_for_update().select_related("category").get(pk=article.pk)
        fields: list[str] = ["updated_by", "updated_at"]
        if title is not None:
            locked.title = clean_title(title)
            locked.slug = slugify(locked.title)[:80] or "article"
            fields += ["title", "slug"]
        if body is not None:
            locked.body = clean_body(body)
            locked.body_html = render_markdown(locked.body)
            locked.body_text = plain_text(locked.body_html)
            fields += ["body", "body_html", "body_text"]
        if category is not None:
            locked.category = category_for(category, lang=locked.lang)
            fields.append("category")
        if status is not None:
            new_status = clean_status(status)
            if new_status == ArticleStatus.PUBLISHED and locked.published_at is None:
                locked.published_at = timezone.now()
                fields.append("published_at")
            locked.status = new_status
            fields.append("status")
        locked.updated_by = by
        locked.save(update_fields=fields)
        if title is not None or body is not None:
            _index(locked)
        _revise(locked, by=by)
    article.refresh_from_db()
    return article


def set_status(article: Article, *, status: str, by: User | None) -> Article:
    """Publish or unpublish (back to draft); the text and its history stay."""
    return update_article(article, by=by, status=status)


def record_view(article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


def record_feedback(article: Article, *, helpful: bool) -> None:
    """ "This answered my question" (helpful) or "I still need help": one UPDATE, no race."""
    column = "helpful_count" if helpful else "unhelpful_count"
    Article.objects.filter(pk=article.pk).update(**{column: F(column) + 1})


def record_missed_search(query: str, *, lang: str) -> None:
    """Count a search that found nothing (normalised: lower case, single spaces, 200 chars)."""
    normalised = " ".join(query.lower().split())[:QUERY_MAX]
    if not normalised:
        return
    now = timezone.now()
    updated = MissedSearch.objects.filter(query=normalised, lang=lang).update(
        count=F("count") + 1, last_searched_at=now
    )
    if updated:
        return
    try:
        with transaction.atomic():
            MissedSearch.objects.create(query=normalised, lang=lang, count=1, last_searched_at=now)
    except IntegrityError:  # counted first by a concurrent request
        MissedSearch.objects.filter(query=normalised, lang=lang).update(
            count=F("count") + 1, last_searched_at=now
        )


# --- reads -----------------------------------------------------------------------------------


def published() -> QuerySet[Article]:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED)


def versions(article: Article) -> list[Article]:
    """The other language versions of the same article, published ones only."""
    return list(published().filter(family=article.family).exclude(pk=article.pk).order_by("lang"))


def related(article: Article, *, limit: int = 5) -> list[Article]:
    """Published articles of the same category and language, most read first."""
    return list(
        published()
        .filter(category_id=article.category_id, lang=article.lang)
        .exclude(pk=article.pk)
        .order_by("-view_count", "title")[:limit]
    )


def popular(*, lang: str, limit: int = 10) -> list[Article]:
    return list(published().filter(lang=lang).order_by("-view_count", "title")[:limit])


def article_family(family: uuid.UUID) -> list[Article]:
    return list(Article.objects.filter(family=family).order_by("lang"))


@dataclass
class Hit:
    article: Article
    snippet: str  # HTML: escaped text with <mark> around the matched words


def _words(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query[:QUERY_MAX])][:QUERY_WORDS_MAX]


def _marked(text: str) -> str:
    """Escape, then turn the match markers into <mark> elements."""
    return html.escape(text).replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


def _highlight(text: str, words: Iterable[str], length: int = 180) -> str:
    """SQLite fallback for ts_headline: a window around the first match, words marked."""
    lowered = text.lower()
    positions = [lowered.find(w) for w in words if lowered.find(w) >= 0]
    start = max(0, min(positions) - 40) if positions else 0
    window = text[start : start + length]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
    marked = (
        pattern.sub(lambda m: _MARK_START + m.group(0) + _MARK_STOP, window) if pattern else window
    )
    prefix = "…" if start else ""
    suffix = "…" if start + length < len(text) else ""
    return prefix + _marked(marked) + suffix


def search(query: str, *, lang: str, limit: int = 5, record_miss: bool = True) -> list[Hit]:
    """Published articles in `lang` for the words of `query`, best first, with snippets.

    Any input is safe: only \\w+ words are kept (operators, quotes and punctuation are ignored),
    at most 200 characters and 12 words, so neither a 5,000-character query nor `!(&|` reaches
    the planner. Words are OR-ed and ranked (title above text), the last word as a prefix, so
    suggestions follow as the customer types. An unknown language is English.
    """
    lang = resolve_language(lang)
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    words = _words(query)
    if not words:
        return []
    qs = published().filter(lang=lang).select_related("category")
    if connection.vendor == "postgresql":
        hits = _search_postgres(qs, words, lang=lang, limit=limit)
    else:
        hits = _search_sqlite(qs, words, limit=limit)
    if not hits and record_miss:
        record_missed_search(query, lang=lang)
    return hits


# Ranking every match of a common word (tens of thousands of stored vectors through ts_rank,
# then a sort) took a second at 100,000 articles. Only a bounded candidate set is ranked:
# first the matches among the language's WINDOW most read articles (a walk of the popularity
# index that stops at CANDIDATES matches: a common word matches at once); only when that finds
# fewer than CANDIDATES is the word rare enough for the GIN index to list its matches, at most
# INDEXED of them. ts_rank orders those few hundred rows (title above text, then views) and
# ts_headline runs for the page's rows only. One statement; the article rows are read after.
# Measured with bench/helpcenter.py (README, "Help center search").
WINDOW = 500
CANDIDATES = 100
INDEXED = 200
_SEARCH_SQL = """
WITH popular AS (
    SELECT id FROM (
        SELECT id, search_vector FROM helpcenter_article
         WHERE lang = '{lang}' AND status = 'published'
         ORDER BY view_count DESC, id LIMIT {window}
    ) most_read
    WHERE search_vector @@ to_tsquery('{config}'::regconfig, %(query)s)
    LIMIT {candidates}
), indexed AS (
    SELECT id FROM helpcenter_article
     WHERE (SELECT count(*) FROM popular) < {candidates}
       AND lang = '{lang}' AND status = 'published'
       AND search_vector @@ to_tsquery('{config}'::regconfig, %(query)s)
     LIMIT {indexed}
), ranked AS (
    SELECT id, body_text, view_count,
           ts_rank(search_vector, to_tsquery('{config}'::regconfig, %(query)s)) AS rank
      FROM helpcenter_article
     WHERE id IN (SELECT id FROM popular UNION SELECT id FROM indexed)
     ORDER BY rank DESC, view_count DESC, id
     LIMIT %(limit)s
)
SELECT id, ts_headline('{config}'::regconfig, left(body_text, {headline_chars}),
                       to_tsquery('{config}'::regconfig, %(query)s), %(options)s)
  FROM ranked
 ORDER BY rank DESC, view_count DESC, id
"""
_HEADLINE_OPTIONS = f'StartSel="{_MARK_START}", StopSel="{_MARK_STOP}", MaxWords=30, MinWords=12'
# ts_headline parses the text it is given: a snippet comes from the article's beginning, so a
# 50,000-character article costs what a short one does (a match further on still ranks it).
HEADLINE_CHARS = 3000


def _search_postgres(
    qs: QuerySet[Article], words: list[str], *, lang: str, limit: int
) -> list[Hit]:
    words = list(dict.fromkeys(words))
    # Words are \w+ only, so they carry no tsquery syntax; quoting keeps each one a lexeme.
    terms = [f"'{w}'" for w in words[:-1]] + [f"'{words[-1]}':*"]
    # Only constants (LANGUAGES, this module's bounds) are formatted in; the words are a parameter.
    sql = _SEARCH_SQL.format(
        lang=lang,
        config=LANGUAGES[lang],
        window=WINDOW,
        candidates=CANDIDATES,
        indexed=INDEXED,
        headline_chars=HEADLINE_CHARS,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"query": " | ".join(terms), "limit": limit, "options": _HEADLINE_OPTIONS}
        )
        ranked = cursor.fetchall()
    articles = qs.in_bulk([pk for pk, _ in ranked])
    return [
        Hit(article=articles[pk], snippet=_marked(headline or ""))
        for pk, headline in ranked
        if pk in articles
    ]


def _search_sqlite(qs: QuerySet[Article], words: list[str], *, limit: int) -> list[Hit]:
    condition = Q()
    for word in words:
        condition |= Q(title__icontains=word) | Q(body_text__icontains=word)
    candidates = list(qs.filter(condition).order_by("-view_count", "pk")[:200])

    def score(article: Article) -> tuple[int, int]:
        title, text = article.title.lower(), article.body_text.lower()
        return (
            -sum(3 for w in words if w in title) - sum(1 for w in words if w in text),
            -article.view_count,
        )

    candidates.sort(key=score)
    return [Hit(article=a, snippet=_highlight(a.body_text, words)) for a in candidates[:limit]]


def search_any_language(query: str, *, limit: int = 5) -> list[Hit]:
    """Search every language (the agents' picker): each under its own configuration."""
    hits: list[Hit] = []
    for lang in LANGUAGES:
        hits += search(query, lang=lang, limit=limit, record_miss=False)
    return hits[:limit] if len(hits) <= limit else _interleave(hits, limit)


def _interleave(hits: list[Hit], limit: int) -> list[Hit]:
    by_lang: dict[str, list[Hit]] = {}
    for hit in hits:
        by_lang.setdefault(hit.article.lang, []).append(hit)
    out: list[Hit] = []
    while len(out) < limit and any(by_lang.values()):
        for lang in list(by_lang):
            if by_lang[lang] and len(out) < limit:
                out.append(by_lang[lang].pop(0))
    return out


# --- reports ---------------------------------------------------------------------------------


@dataclass
class Report:
    most_viewed: list[Article]
    most_helpful: list[Article]
    least_helpful: list[Article]
    missed_searches: list[MissedSearch]


def report(*, limit: int = 10) -> Report:
    base = published().select_related("category")
    return Report(
        most_viewed=list(base.order_by("-view_count", "title")[:limit]),
        most_helpful=list(
            base.filter(helpful_count__gt=0).order_by("-helpful_count", "unhelpful_count")[:limit]
        ),
        least_helpful=list(
            base.filter(unhelpful_count__gt=0).order_by("-unhelpful_count", "helpful_count")[:limit]
        ),
        missed_searches=list(MissedSearch.objects.order_by("-count", "-last_searched_at")[:limit]),
    )


def brand() -> dict[str, str]:
    return {
        "name": settings.SUPPORTDESK_COMPANY_NAME,
        "color": settings.SUPPORTDESK_BRAND_COLOR,
    }
