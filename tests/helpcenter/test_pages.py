"""The public help center pages and the agents' editor, list, history and report."""

from __future__ import annotations

import re

from django.test import Client
from django.test.utils import override_settings

from helpcenter.models import Article, ArticleRevision


def test_home_lists_published_articles_by_category_in_the_browser_language(articles) -> None:
    english = Client().get("/help/")
    html = english.content.decode()
    assert english.status_code == 200
    assert '<html lang="en">' in html
    assert "How do I return an item?" in html and "Shipping times" in html
    assert "Returning gift cards" not in html  # draft
    assert "¿Cómo devuelvo" not in html
    spanish = Client().get("/help/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="es">' in spanish and "¿Cómo devuelvo un artículo?" in spanish
    assert Client().get("/help/?lang=zz").content.decode().count('<html lang="en">') == 1


def test_article_page_is_indexable_with_versions_and_related(articles) -> None:
    article = articles["returns"]
    response = Client().get(article.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>How do I return an item? · " in html
    assert '<meta name="description" content="You can return anything within 60 days.' in html
    assert (
        f'<link rel="canonical" href="http://localhost:8000{article.get_absolute_url()}">' in html
    )
    assert 'hreflang="es"' in html and articles["devoluciones"].get_absolute_url() in html
    assert "<strong>60 days</strong>" in html
    assert "This answered my question" in html and "I still need help" in html
    assert Article.objects.get(pk=article.pk).view_count == 1


def test_old_slug_redirects_and_drafts_are_404(articles) -> None:
    article = articles["returns"]
    old = Client().get(f"/help/articles/{article.pk}-old-title/")
    assert old.status_code == 301 and old["Location"] == article.get_absolute_url()
    draft = articles["draft"]
    assert Client().get(draft.get_absolute_url()).status_code == 404


def test_feedback_form_counts_and_still_stuck_leads_to_the_contact_form(articles) -> None:
    client = Client()
    article = articles["devoluciones"]
    yes = client.post(f"/help/articles/{article.pk}/feedback", {"helpful": "yes"})
    assert yes.status_code == 302 and yes["Location"].endswith("?voted=yes")
    no = client.post(f"/help/articles/{article.pk}/feedback", {"helpful": "no"})
    assert no["Location"] == f"/support/new?lang=es&article={article.pk}"
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)


def test_search_page_highlights_and_counts_misses(articles) -> None:
    html = Client().get("/help/search", {"q": "return", "lang": "en"}).content.decode()
    assert "<mark>return</mark>" in html.lower() or "<mark>Return</mark>" in html
    assert '<meta name="robots" content="noindex">' in html
    nothing = Client().get("/help/search", {"q": "<script>alert(1)</script>", "lang": "en"})
    assert nothing.status_code == 200 and "<script>alert" not in nothing.content.decode()


def test_sitemap_lists_published_articles(articles) -> None:
    response = Client().get("/help/sitemap.xml")
    assert response["Content-Type"].startswith("application/xml")
    locs = re.findall(r"<loc>([^<]+)</loc>", response.content.decode())
    assert f"http://localhost:8000{articles['returns'].get_absolute_url()}" in locs
    assert f"http://localhost:8000{articles['devoluciones'].get_absolute_url()}" in locs
    assert not any(articles["draft"].get_absolute_url() in loc for loc in locs)


@override_settings(SUPPORTDESK_COMPANY_NAME="Acme Shoes", SUPPORTDESK_BRAND_COLOR="#aa3300")
def test_pages_carry_the_shop_brand(articles) -> None:
    html = Client().get("/help/").content.decode()
    assert "Acme Shoes · Help center" in html and "--brand:#aa3300" in html


def test_pages_work_without_javascript(articles) -> None:
    html = Client().get(articles["returns"].get_absolute_url()).content.decode()
    assert "<script" not in html
    assert 'name="viewport"' in html


def _login(client: Client, cast) -> Client:
    client.force_login(cast.alice)
    return client


def test_agent_list_editor_preview_and_history(articles, cast) -> None:
    client = _login(Client(), cast)
    listing = client.get("/help/manage/").content.decode()
    assert "Returning gift cards (draft)" in listing and "Shipping times" in listing
    preview = client.post("/help/manage/preview", {"body": "**hi** <script>x</script>"})
    assert preview.content.decode() == "<p><strong>hi</strong> </p>"
    created = client.post(
        "/help/manage/new",
        {"title": "Gift wrap", "category": "Orders & shipping", "lang": "en",
         "status": "draft", "body": "We wrap.", "action": "save"},
    )  # fmt: skip
    article = Article.objects.get(title="Gift wrap")
    assert created.status_code == 302 and created["Location"] == f"/help/manage/{article.pk}/edit"
    client.post(
        f"/help/manage/{article.pk}/edit",
        {"title": "Gift wrap", "category": "orders-shipping", "status": "published",
         "body": "We wrap, for free.", "action": "save"},
    )  # fmt: skip
    article.refresh_from_db()
    assert article.is_published and article.body == "We wrap, for free."
    client.post(f"/help/manage/{article.pk}/status", {"status": "draft"})
    article.refresh_from_db()
    assert not article.is_published
    assert ArticleRevision.objects.filter(article=article).count() == 3
    history = client.get(f"/help/manage/{article.pk}/history").content.decode()
    assert "We wrap, for free." in history
    translate = client.post(
        f"/help/manage/new?translate={article.pk}",
        {"title": "Envoltorio", "category": "orders-shipping", "lang": "es", "status": "draft",
         "body": "Envolvemos.", "action": "save", "translation_of": article.pk},
    )  # fmt: skip
    assert translate.status_code == 302
    assert Article.objects.get(title="Envoltorio").family == article.family


def test_agent_pages_need_a_login(articles) -> None:
    for path in ["/help/manage/", "/help/manage/new", "/help/manage/report"]:
        assert Client().get(path).status_code == 302


def test_report_page(articles, cast) -> None:
    client = _login(Client(), cast)
    Client().get("/help/search", {"q": "gift wrapping"})
    html = client.get("/help/manage/report").content.decode()
    assert "Searches that found nothing" in html and "gift wrapping" in html
