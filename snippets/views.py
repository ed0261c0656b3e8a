"""The snippet library pages: search, create, edit, archive and restore. Any agent may edit.

Thin views: `SnippetForm` parses, `snippets.services` decides. htmx requests get the list or a
row as a fragment; without JavaScript every action is a plain GET or POST with a redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AgentRequest
from snippets import services
from snippets.forms import SnippetForm
from snippets.models import Snippet

LIBRARY_LIMIT = 100


@login_required
@require_GET
def library(request: AgentRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:200]
    archived = request.GET.get("archived") == "1"
    context = {
        "nav": "snippets",
        "q": q,
        "archived": archived,
        "snippets": services.search(q, limit=LIBRARY_LIMIT, archived=archived),
        "limit": LIBRARY_LIMIT,
    }
    if request.htmx:
        return render(request, "snippets/partials/snippet_list.html", context)
    return render(request, "snippets/library.html", context)


def _save(request: AgentRequest, form: SnippetForm, snippet: Snippet | None) -> Snippet | None:
    """Run the service for a valid form; put its refusal on the right field and return None."""
    data = form.cleaned_data
    try:
        if snippet is None:
            return services.create_snippet(
                title=data["title"],
                shortcut=data["shortcut"],
                body=data["body"],
                tags=services.parse_tags(data["tags"]),
                by=request.user,
            )
        return services.update_snippet(
            snippet,
            by=request.user,
            title=data["title"],
            shortcut=data["shortcut"],
            body=data["body"],
            tags=services.parse_tags(data["tags"]),
        )
    except services.SnippetError as exc:
        form.add_error(exc.field or None, str(exc))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def snippet_new(request: AgentRequest) -> HttpResponse:
    form = SnippetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, None)
        if saved is not None:
            messages.success(request, f"Snippet /{saved.shortcut} created.")
            return redirect("snippets:library")
    return render(request, "snippets/form.html", {"nav": "snippets", "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def snippet_edit(request: AgentRequest, snippet_id: int) -> HttpResponse:
    snippet = get_object_or_404(Snippet, pk=snippet_id)
    initial = {
        "title": snippet.title,
        "shortcut": snippet.shortcut,
        "body": snippet.body,
        "tags": ", ".join(snippet.tags),
    }
    form = SnippetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, snippet)
        if saved is not None:
            messages.success(request, f"Snippet /{saved.shortcut} saved.")
            return redirect("snippets:library")
    return render(
        request, "snippets/form.html", {"nav": "snippets", "form": form, "snippet": snippet}
    )


@login_required
@require_POST
def snippet_archive(request: AgentRequest, snippet_id: int) -> HttpResponse:
    """Archive (archived=1, the default) or restore (archived=0)."""
    snippet = get_object_or_404(Snippet, pk=snippet_id)
    archived = request.POST.get("archived", "1") == "1"
    services.set_archived(snippet, archived=archived, by=request.user)
    if request.htmx:
        return render(request, "snippets/partials/snippet_row.html", {"s": snippet})
    verb = "archived" if archived else "restored"
    messages.success(request, f"Snippet /{snippet.shortcut} {verb}.")
    url = reverse("snippets:library")
    return redirect(f"{url}?archived=1" if not archived else url)
