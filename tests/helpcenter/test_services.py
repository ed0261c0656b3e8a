"""Help center services: Markdown made safe, versions per language, history, search, counters."""

from __future__ import annotations

import time

import pytest
from django.contrib.postgres.search import SearchVector
from django.db import connection

from helpcenter import services
from helpcenter.models import Article, ArticleRevision, MissedSearch


def test_markdown_is_rendered(cast) -> None:
    article = services.create_article(
        title="Sizes",
        body="## Shoes\n\n- **US 9** = EU 42\n\n[Chart](https://shop.example/sizes)",
        category="Sizing",
        by=cast.alice,
    )
    assert "<h2>Shoes</h2>" in article.body_html
    assert "<strong>US 9</strong>" in article.body_html
    assert 'href="https://shop.example/sizes"' in article.body_html
    assert article.body_text.startswith("Shoes US 9 = EU 42")


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>Hello",
        '<iframe src="https://evil.example"></iframe>Hello',
        '<img src="x.png" onerror="alert(1)">Hello',
        '<a href="javascript:alert(1)">Hello</a>',
        "[Hello](javascript:alert(1))",
        '<p onclick="alert(1)" style="background:url(javascript:alert(1))">Hello</p>',
        '<svg onload="alert(1)"><use href="#x"/></svg>Hello',
    ],
)
def test_hostile_bodies_are_sanitised(cast, hostile: str) -> None:
    article = services.create_article(
        title="Hostile", body=hostile, category="Tests", status="published", by=cast.alice
    )
    html = article.body_html.lower()
    for bad in ("<script", "<iframe", "onerror", "onclick", "onload", "javascript:", "<svg"):
        assert bad not in html, (bad, html)
    assert "hello" in html


def test_a_translation_shares_the_family_and_one_per_language(articles, cast) -> None:
    returns, devoluciones = articles["returns"], articles["devoluciones"]
    assert devoluciones.family == returns.family
    assert services.versions(returns) == [devoluciones]
    with pytest.raises(services.HelpError) as exc:
        services.create_article(
            title="Otra",
            body="Otra",
            category="returns-refunds",
            lang="es",
            translation_of=returns,
            by=cast.alice,
        )
    assert exc.value.code == "translation_exists" and exc.value.status == 409


def test_unknown_language_is_refused_when_writing_and_english_when_reading(cast) -> None:
    with pytest.raises(services.HelpError) as exc:
        services.create_article(title="T", body="B", category="C", lang="klingon", by=cast.alice)
    assert exc.value.code == "invalid_lang"
    assert services.resolve_language("xx") == "en"
    assert services.resolve_language("es-MX") == "es"
    assert services.resolve_language("DE_at") == "de"
    assert services.resolve_language("") == "en"


def test_every_save_keeps_a_revision_and_publishing_stamps_the_date(cast) -> None:
    article = services.create_article(
        title="Gift wrap", body="We wrap for free.", category="Orders", by=cast.alice
    )
    assert article.published_at is None
    services.update_article(article, by=cast.bob, body="We wrap for free, with a card.")
    services.set_status(article, status="published", by=cast.bob)
    assert article.published_at is not None
    services.set_status(article, status="draft", by=cast.bob)
    revisions = list(ArticleRevision.objects.filter(article=article).order_by("pk"))
    assert [r.status for r in revisions] == ["draft", "draft", "published", "draft"]
    assert revisions[0].body == "We wrap for free." and revisions[0].edited_by == cast.alice
    assert revisions[1].body.endswith("with a card.") and revisions[1].edited_by == cast.bob


def test_an_edit_never_overwrites_views_counted_meanwhile(articles, cast) -> None:
    stale = Article.objects.get(pk=articles["returns"].pk)
    services.record_view(articles["returns"])
    services.record_feedback(articles["returns"], helpful=True)
    services.update_article(stale, by=cast.alice, title="Returning an item")
    fresh = Article.objects.get(pk=stale.pk)
    assert (fresh.view_count, fresh.helpful_count, fresh.title) == (1, 1, "Returning an item")


def test_search_finds_stemmed_words_in_the_language_ranked_title_first(articles) -> None:
    hits = services.search("returning", lang="en")
    assert hits[0].article == articles["returns"]
    assert "<mark>" in hits[0].snippet
    assert articles["draft"] not in [h.article for h in hits]  # drafts are never public
    spanish = services.search("devoluciones", lang="es")
    assert [h.article for h in spanish] == [articles["devoluciones"]]
    # As the customer types, the last word is a prefix.
    assert services.search("ship", lang="en")[0].article == articles["shipping"]


def test_search_uses_the_language_configuration_index(articles) -> None:
    """One partial GIN index per language; with enough rows the planner takes the right one."""
    category = articles["devoluciones"].category
    Article.objects.bulk_create(
        Article(
            lang="es",
            category=category,
            title=f"Artículo {n}",
            slug=f"articulo-{n}",
            body=f"Texto número {n} sobre zapatos",
            body_text=f"Texto número {n} sobre zapatos",
            status="published",
        )
        for n in range(3000)
    )
    Article.objects.filter(lang="es").update(
        search_vector=SearchVector("title", weight="A", config="spanish")
        + SearchVector("body_text", weight="B", config="spanish")
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpcenter_article")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'help_fts_%%'"
        )
        indexes = dict(cursor.fetchall())
        cursor.execute(
            "EXPLAIN SELECT id FROM helpcenter_article WHERE lang = 'es' AND status = 'published'"
            " AND search_vector @@ to_tsquery('spanish', 'devolver')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert sorted(indexes) == ["help_fts_de", "help_fts_en", "help_fts_es"]
    assert "USING gin (search_vector) WHERE" in indexes["help_fts_es"]
    assert "help_fts_es" in plan, plan
    assert [h.article for h in services.search("devolver", lang="es")] == [articles["devoluciones"]]


@pytest.mark.parametrize(
    "query",
    [
        "return & | ! ( ) : * <-> '\"",
        '"free returns" OR -gift',
        "return:* & !free",
        "'; DROP TABLE helpcenter_article; --",
        "x" * 5000,
        "return " * 1000,
        "\\",
    ],
)
def test_hostile_queries_are_plain_words(articles, query: str) -> None:
    started = time.monotonic()
    hits = services.search(query, lang="en")
    assert time.monotonic() - started < 2
    assert isinstance(hits, list)
    assert Article.objects.count() == 4


def test_searches_that_find_nothing_are_counted(articles) -> None:
    services.search("Gift  Wrapping", lang="en")
    services.search("gift wrapping", lang="en")
    services.search("   ", lang="en")  # nothing asked: nothing counted
    services.search("return", lang="en")  # found: not counted
    [missed] = MissedSearch.objects.all()
    assert (missed.query, missed.lang, missed.count) == ("gift wrapping", "en", 2)


def test_report_lists_viewed_helpful_and_unhelpful_articles(articles) -> None:
    for _ in range(3):
        services.record_view(articles["shipping"])
    services.record_feedback(articles["returns"], helpful=True)
    services.record_feedback(articles["shipping"], helpful=False)
    services.search("gift wrapping", lang="en")
    report = services.report()
    assert report.most_viewed[0] == articles["shipping"]
    assert report.most_helpful == [articles["returns"]]
    assert report.least_helpful == [articles["shipping"]]
    assert [m.query for m in report.missed_searches] == ["gift wrapping"]
