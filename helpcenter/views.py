"""The public help center (/help/): server-rendered, no login, no JavaScript needed.

Every page names its language (`<html lang>`), has a title, a meta description and a canonical
URL; `/help/sitemap.xml` lists the published articles. The language is `?lang=`, else the
visitor's (Accept-Language), else English; an article page is in the article's own language and
links its other versions.
"""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.ratelimit import RateLimited, hit, response_for
from helpcenter import services
from helpcenter.models import LANGUAGE_NAMES, LANGUAGES, Article, ArticleStatus, Category


class _Section(TypedDict):
    category: Category
    name: str
    articles: list[Article]


def page_language(request: HttpRequest) -> str:
    """`?lang=` if given (unknown codes are English), else the browser's, else English."""
    if "lang" in request.GET:
        return services.resolve_language(request.GET["lang"])
    return services.resolve_language(translation.get_language_from_request(request))


def _render(
    request: HttpRequest, template: str, context: dict[str, object], *, lang: str
) -> HttpResponse:
    with translation.override(lang):
        response = render(
            request,
            template,
            {
                "lang": lang,
                "languages": LANGUAGE_NAMES,
                "brand": services.brand(),
                "site_url": settings.SITE_URL,
                **context,
            },
        )
    response["Content-Language"] = lang
    response["Vary"] = "Accept-Language"
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    lang = page_language(request)
    articles = list(
        services.published().filter(lang=lang).select_related("category").order_by("title")
    )
    sections: dict[int, _Section] = {}
    for article in articles:
        section = sections.setdefault(
            article.category_id,
            {
                "category": article.category,
                "name": article.category.name_for(lang),
                "articles": [],
            },
        )
        section["articles"].append(article)
    ordered = sorted(
        sections.values(),
        key=lambda s: (s["category"].position, s["category"].slug),
    )
    return _render(
        request,
        "helpcenter/home.html",
        {
            "sections": ordered,
            "popular": services.popular(lang=lang, limit=5),
            "canonical": reverse("helpcenter:home") + ("" if lang == "en" else f"?lang={lang}"),
        },
        lang=lang,
    )


@require_GET
def category(request: HttpRequest, slug: str) -> HttpResponse:
    lang = page_language(request)
    cat = get_object_or_404(Category, slug=slug)
    articles = list(services.published().filter(category=cat, lang=lang).order_by("title"))
    return _render(
        request,
        "helpcenter/category.html",
        {
            "category": cat,
            "category_name": cat.name_for(lang),
            "articles": articles,
            "canonical": cat.get_absolute_url() + ("" if lang == "en" else f"?lang={lang}"),
        },
        lang=lang,
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    lang = page_language(request)
    q = request.GET.get("q", "")[: services.QUERY_MAX]
    hits = services.search(q, lang=lang, limit=20) if q.strip() else []
    return _render(
        request,
        "helpcenter/search.html",
        {"q": q, "hits": hits, "canonical": reverse("helpcenter:search"), "noindex": True},
        lang=lang,
    )


def _published_article(pk: int) -> Article:
    article = get_object_or_404(
        Article.objects.select_related("category"), pk=pk, status=ArticleStatus.PUBLISHED
    )
    return article


@require_GET
def article(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    art = _published_article(pk)
    if slug != art.slug:  # one canonical address per article: old slugs redirect
        return redirect(art.get_absolute_url(), permanent=True)
    services.record_view(art)
    return _render(
        request,
        "helpcenter/article.html",
        {
            "article": art,
            "category_name": art.category.name_for(art.lang),
            "description": services.summary(art),
            "related": services.related(art),
            "versions": services.versions(art),
            "canonical": art.get_absolute_url(),
            "voted": request.GET.get("voted", ""),
        },
        lang=art.lang,
    )


@require_POST
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """ "This answered my question" / "I still need help", as a plain form (no JS needed)."""
    art = _published_article(pk)
    try:
        hit("help-feedback", str(request.META.get("REMOTE_ADDR") or "unknown"))
    except RateLimited as error:
        return response_for(request, error)
    helpful = request.POST.get("helpful") == "yes"
    services.record_feedback(art, helpful=helpful)
    if not helpful:
        # Still stuck: the contact form, in the article's language, knowing what was read.
        return redirect(f"{reverse('tickets:web_form')}?lang={art.lang}&article={art.pk}")
    with translation.override(art.lang):
        messages.success(request, _("Thanks! Glad it helped."))
    return redirect(art.get_absolute_url() + "?voted=yes")


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    articles = services.published().only("pk", "slug", "updated_at").order_by("pk")[:50_000]
    categories = Category.objects.filter(articles__status=ArticleStatus.PUBLISHED).distinct()
    return render(
        request,
        "helpcenter/sitemap.xml",
        {
            "site_url": settings.SITE_URL,
            "articles": articles,
            "categories": categories,
            "languages": [lang for lang in LANGUAGES if lang != "en"],
        },
        content_type="application/xml",
    )
