"""The help center API as in the contract: agents write, anyone searches published articles."""

from __future__ import annotations

import json

from django.test import Client

from helpcenter.models import Article


def _json(client: Client, method: str, path: str, body: object | None = None, **extra):
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        **extra,
    )


def test_agent_creates_an_article_201_with_id_and_url(api_client, cast) -> None:
    response = _json(
        api_client,
        "post",
        "/api/v1/help/articles",
        {
            "title": "Gift wrap",
            "body": "We wrap **for free**.",
            "category": "Orders & shipping",
            "status": "published",
            "lang": "en",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    article = Article.objects.get(pk=body["id"])
    assert body["url"].endswith(f"/help/articles/{article.pk}-gift-wrap/")
    assert body["category"] == "orders-shipping"
    assert body["status"] == "published" and body["lang"] == "en"
    assert "<strong>for free</strong>" in body["body_html"]
    assert article.created_by == cast.alice
    assert body["url"] == f"http://testserver{article.get_absolute_url()}"
    assert Client().get(article.get_absolute_url()).status_code == 200


def test_translation_and_patch(api_client, articles) -> None:
    created = _json(
        api_client,
        "post",
        "/api/v1/help/articles",
        {
            "title": "Versandzeiten",
            "body": "Standardversand dauert 3-5 Werktage.",
            "category": "orders-shipping",
            "lang": "de",
            "translation_of": articles["shipping"].pk,
        },
    ).json()
    assert created["status"] == "draft"
    assert created["family"] == str(articles["shipping"].family)
    patched = _json(
        api_client, "patch", f"/api/v1/help/articles/{created['id']}", {"status": "published"}
    )
    assert patched.status_code == 200 and patched.json()["status"] == "published"
    assert patched.json()["translations"] == {"en": articles["shipping"].pk}
    again = _json(
        api_client,
        "post",
        "/api/v1/help/articles",
        {"title": "X", "body": "Y", "category": "c", "lang": "de",
         "translation_of": articles["shipping"].pk},
    )  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "translation_exists"


def test_bad_input_is_422_with_a_code(api_client) -> None:
    base = {"title": "T", "body": "B", "category": "C"}
    for change, code in [
        ({"lang": "xx"}, "invalid_lang"),
        ({"title": "   "}, "invalid_title"),
        ({"body": ""}, "invalid_body"),
        ({"status": "live"}, "invalid"),
        ({"category": "!!!"}, "invalid_category"),
    ]:
        response = _json(api_client, "post", "/api/v1/help/articles", base | change)
        assert response.status_code == 422, (change, response.content)
        assert response.json()["code"] == code
    assert Article.objects.count() == 0


def test_writes_need_an_agent(articles) -> None:
    anonymous = Client()
    assert _json(anonymous, "post", "/api/v1/help/articles", {"title": "T"}).status_code == 401
    path = f"/api/v1/help/articles/{articles['draft'].pk}"
    assert _json(anonymous, "patch", path, {"status": "published"}).status_code == 401
    assert anonymous.get(path).status_code == 401  # drafts are for agents


def test_public_search_published_only_with_snippets(articles) -> None:
    response = Client().get("/api/v1/help/articles", {"q": "return", "lang": "en"})
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["id"] for i in items] == [articles["returns"].pk]
    assert set(items[0]) >= {"id", "title", "url", "snippet"}
    assert "<mark>" in items[0]["snippet"]
    spanish = Client().get("/api/v1/help/articles", {"q": "devolver", "lang": "es"}).json()
    assert [i["id"] for i in spanish["items"]] == [articles["devoluciones"].pk]


def test_unknown_language_falls_back_to_english(articles) -> None:
    response = Client().get("/api/v1/help/articles", {"q": "return", "lang": "zz-ZZ"})
    assert [i["id"] for i in response.json()["items"]] == [articles["returns"].pk]


def test_language_comes_from_accept_language_when_not_given(articles) -> None:
    response = Client().get(
        "/api/v1/help/articles", {"q": "devoluciones"}, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9"
    )
    assert [i["id"] for i in response.json()["items"]] == [articles["devoluciones"].pk]


def test_hostile_and_huge_queries_never_500(articles) -> None:
    client = Client()
    for q in ['"return" & !(free) | <->', "x" * 5000, "' OR 1=1 --", "::*:*"]:
        response = client.get("/api/v1/help/articles", {"q": q, "lang": "en"})
        assert response.status_code == 200, (q[:20], response.content[:200])
    pasted = client.get("/api/v1/help/articles", {"q": "return " * 3000})  # 21,000 characters
    assert [i["id"] for i in pasted.json()["items"]] == [articles["returns"].pk]


def test_search_answers_cors_for_the_widget(articles) -> None:
    response = Client().get(
        "/api/v1/help/articles", {"q": "return"}, HTTP_ORIGIN="https://shop.example"
    )
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


def test_feedback_is_counted_for_published_articles_only(articles) -> None:
    client = Client()
    path = f"/api/v1/help/articles/{articles['returns'].pk}/feedback"
    assert _json(client, "post", path, {"helpful": True}).json() == {"recorded": True}
    assert _json(client, "post", path, {"helpful": False}).status_code == 200
    draft_path = f"/api/v1/help/articles/{articles['draft'].pk}/feedback"
    assert _json(client, "post", draft_path, {"helpful": True}).status_code == 404
    returns = Article.objects.get(pk=articles["returns"].pk)
    assert (returns.helpful_count, returns.unhelpful_count) == (1, 1)
