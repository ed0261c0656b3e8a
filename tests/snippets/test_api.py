"""The snippets API: search for the picker, create, edit, archive, count a use; auth and errors."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from snippets.models import Snippet, SnippetUse


def _json(client: Client, method: str, path: str, body: object | None = None, **extra):
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        **extra,
    )


def test_anonymous_requests_are_401_with_a_code(db) -> None:
    response = Client().get("/api/v1/snippets")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert _json(Client(), "post", "/api/v1/snippets/1/use").status_code == 401


def test_search_returns_items_best_first_with_a_limit(api_client, library) -> None:
    response = api_client.get("/api/v1/snippets", {"q": "ship"})
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["shortcut"] == "shipping-times"
    assert item["title"] == "Shipping times"
    assert item["body"].startswith("Standard shipping")
    assert item["tags"] == ["shipping"]
    assert item["usage_count"] == 0 and item["archived"] is False

    assert len(api_client.get("/api/v1/snippets", {"limit": 2}).json()["items"]) == 2
    too_many = api_client.get("/api/v1/snippets", {"limit": 500})
    assert too_many.status_code == 422 and too_many.json()["code"] == "invalid"


def test_create_returns_201_and_the_snippet(api_client, cast) -> None:
    response = _json(
        api_client,
        "post",
        "/api/v1/snippets",
        {
            "title": "Out of stock",
            "shortcut": "out-of-stock",
            "body": "Our sister store has it.",
            "tags": ["stock"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    snippet = Snippet.objects.get(pk=body["id"])
    assert body["shortcut"] == "out-of-stock"
    assert snippet.created_by == cast.alice


def test_a_duplicate_shortcut_is_409_shortcut_taken(api_client, library) -> None:
    response = _json(
        api_client,
        "post",
        "/api/v1/snippets",
        {"title": "Another size chart", "shortcut": "size-chart", "body": "x"},
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The shortcut /size-chart is already used by another snippet",
        "code": "shortcut_taken",
    }
    patch = _json(
        api_client,
        "patch",
        f"/api/v1/snippets/{library['return-rules'].pk}",
        {"shortcut": "size-chart"},
    )
    assert patch.status_code == 409 and patch.json()["code"] == "shortcut_taken"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"title": "Sizes", "shortcut": "Size Chart!", "body": "x"}, "invalid_shortcut"),
        ({"title": "", "shortcut": "sizes", "body": "x"}, "invalid_title"),
        ({"title": "Sizes", "shortcut": "sizes", "body": "  "}, "invalid_body"),
        ({"title": "Sizes", "shortcut": "sizes"}, "invalid"),
        ({"title": "Sizes", "shortcut": "sizes", "body": "x", "tags": "sizing"}, "invalid"),
    ],
)
def test_invalid_input_is_422_with_detail_and_code(api_client, payload, code) -> None:
    response = _json(api_client, "post", "/api/v1/snippets", payload)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert not Snippet.objects.exists()


def test_patch_edits_archives_and_restores(api_client, library, cast) -> None:
    snippet = library["return-rules"]
    url = f"/api/v1/snippets/{snippet.pk}"
    response = _json(api_client, "patch", url, {"body": "Free returns within 90 days."})
    assert response.status_code == 200
    assert response.json()["body"] == "Free returns within 90 days."
    assert response.json()["title"] == "Return rules"

    assert _json(api_client, "patch", url, {"archived": True}).json()["archived"] is True
    assert api_client.get("/api/v1/snippets", {"q": "return"}).json()["items"] == []
    archived = api_client.get("/api/v1/snippets", {"q": "return", "archived": "true"})
    assert [i["id"] for i in archived.json()["items"]] == [snippet.pk]
    assert _json(api_client, "patch", url, {"archived": False}).json()["archived"] is False
    snippet.refresh_from_db()
    assert snippet.updated_by == cast.alice

    missing = _json(api_client, "patch", "/api/v1/snippets/999999", {"title": "x"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_use_counts_and_returns_the_new_count(api_client, library, cast) -> None:
    snippet = library["size-chart"]
    url = f"/api/v1/snippets/{snippet.pk}/use"
    assert _json(api_client, "post", url).json() == {"usage_count": 1}
    assert _json(api_client, "post", url).json() == {"usage_count": 2}
    assert SnippetUse.objects.filter(snippet=snippet, used_by=cast.alice).count() == 2
    assert _json(api_client, "post", "/api/v1/snippets/999999/use").status_code == 404


def test_session_auth_needs_the_csrf_token_for_writes(cast, library) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    assert client.get("/api/v1/snippets", {"q": "size"}).status_code == 200
    url = f"/api/v1/snippets/{library['size-chart'].pk}/use"
    refused = _json(client, "post", url)
    assert refused.status_code == 403
    assert library["size-chart"].uses.count() == 0

    client.get("/snippets/")  # sets the CSRF cookie, as any page does
    token = client.cookies["csrftoken"].value
    accepted = _json(client, "post", url, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200 and accepted.json() == {"usage_count": 1}


def test_the_endpoints_are_described_in_the_openapi_schema(db) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/snippets"])
    assert "patch" in paths["/api/v1/snippets/{snippet_id}"]
    assert "post" in paths["/api/v1/snippets/{snippet_id}/use"]
    assert "SnippetOut" in schema["components"]["schemas"]
