"""The agents' side of the help center: list, editor with preview, publish, history, report.

Any agent may write and publish articles (like snippets); the report is for everyone too, as it
tells agents which articles to improve. Thin views: the form parses, services decide.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AgentRequest
from helpcenter import services
from helpcenter.forms import ArticleForm
from helpcenter.models import LANGUAGE_NAMES, Article, ArticleStatus

LIST_LIMIT = 200


@login_required
@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:200].strip()
    lang = request.GET.get("lang", "")
    status = request.GET.get("status", "")
    qs = Article.objects.select_related("category").order_by("-updated_at")
    if q:
        qs = qs.filter(title__icontains=q)
    if lang in LANGUAGE_NAMES:
        qs = qs.filter(lang=lang)
    if status in ArticleStatus.values:
        qs = qs.filter(status=status)
    return render(
        request,
        "helpcenter/manage/list.html",
        {
            "nav": "help",
            "articles": qs[:LIST_LIMIT],
            "q": q,
            "lang": lang,
            "status": status,
            "languages": LANGUAGE_NAMES,
            "statuses": ArticleStatus.choices,
        },
    )


def _editor(
    request: HttpRequest,
    form: ArticleForm,
    *,
    article: Article | None,
    translation_of: Article | None = None,
    preview: str | None = None,
) -> HttpResponse:
    return render(
        request,
        "helpcenter/manage/edit.html",
        {
            "nav": "help",
            "form": form,
            "article": article,
            "translation_of": translation_of,
            "preview": preview,
            "family": services.article_family(article.family) if article else [],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def article_new(request: AgentRequest) -> HttpResponse:
    source = None
    if request.GET.get("translate") or request.POST.get("translation_of"):
        source_id = request.GET.get("translate") or request.POST.get("translation_of") or ""
        source = get_object_or_404(Article, pk=int(source_id) if source_id.isdigit() else 0)
    initial = {"status": ArticleStatus.DRAFT, "lang": "en"}
    if source is not None:
        initial |= {"category": source.category.slug, "title": source.title, "body": source.body}
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "preview":
            return _editor(
                request,
                form,
                article=None,
                translation_of=source,
                preview=services.render_markdown(form.cleaned_data["body"]),
            )
        data = form.cleaned_data
        try:
            article = services.create_article(
                title=data["title"],
                body=data["body"],
                category=data["category"],
                lang=data["lang"],
                status=data["status"],
                translation_of=source,
                by=request.user,
            )
        except services.HelpError as exc:
            form.add_error(exc.field or None, str(exc))
        else:
            messages.success(request, f"Article “{article.title}” saved ({article.status}).")
            return redirect("helpcenter:edit", pk=article.pk)
    return _editor(request, form, article=None, translation_of=source)


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request: AgentRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article.objects.select_related("category"), pk=pk)
    initial = {
        "title": article.title,
        "category": article.category.slug,
        "lang": article.lang,
        "status": article.status,
        "body": article.body,
    }
    form = ArticleForm(request.POST or None, initial=initial)
    form.fields["lang"].disabled = True  # a version's language is fixed; translate instead
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") == "preview":
            preview = services.render_markdown(data["body"])
            return _editor(request, form, article=article, preview=preview)
        try:
            services.update_article(
                article,
                by=request.user,
                title=data["title"],
                body=data["body"],
                category=data["category"],
                status=data["status"],
            )
        except services.HelpError as exc:
            form.add_error(exc.field or None, str(exc))
        else:
            messages.success(request, f"Article “{article.title}” saved ({article.status}).")
            return redirect("helpcenter:edit", pk=article.pk)
    return _editor(request, form, article=article)


@login_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview (htmx): the body as customers will see it, sanitised."""
    body = request.POST.get("body", "")[:200_000]
    return HttpResponse(services.render_markdown(body))


@login_required
@require_POST
def article_status(request: AgentRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    status = request.POST.get("status", "")
    try:
        services.set_status(article, status=status, by=request.user)
    except services.HelpError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Article “{article.title}” is now {article.status}.")
    if request.POST.get("next") == "edit":
        return redirect("helpcenter:edit", pk=article.pk)
    return redirect("helpcenter:manage")


@login_required
@require_GET
def history(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    revisions = article.revisions.select_related("edited_by")[:100]
    return render(
        request,
        "helpcenter/manage/history.html",
        {"nav": "help", "article": article, "revisions": revisions},
    )


@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    return render(
        request, "helpcenter/manage/report.html", {"nav": "help", "report": services.report()}
    )
