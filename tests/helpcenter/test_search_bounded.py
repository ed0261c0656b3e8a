"""Help search ranks a bounded candidate set: a word found in every article costs the same as a
rare one (the most read matches first, the GIN index for rare words), and the ranking still puts
title matches first, then the most read. Postgres only (the SQLite fallback has its own test)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpcenter import services
from helpcenter.models import Article, Category


@pytest.fixture
def shelf(db) -> list[Article]:
    """600 English articles that all mention "parcel"; views 0..599 (the higher id, the more
    read); one little-read article has "parcel" in its title, one mentions "zephyrium"."""
    category = Category.objects.create(slug="bench", names={"en": "Bench"})
    rows = [
        Article(
            family=uuid.uuid4(),
            lang="en",
            category=category,
            title=f"Order note {n}",
            slug=f"note-{n}",
            body_text=f"Your parcel {n} travels with the courier.",
            status="published",
            view_count=n,
        )
        for n in range(600)
    ]
    rows[5].title = "Parcel lost in transit"  # only five views
    rows[3].body_text += " zephyrium"  # a rare word in a little-read article
    Article.objects.bulk_create(rows)
    Article.objects.update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("body_text", weight="B", config="english")
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpcenter_article")
    return list(Article.objects.order_by("view_count"))


def _plan(query: str) -> str:
    sql = services._SEARCH_SQL.format(
        lang="en",
        config="english",
        window=services.WINDOW,
        candidates=services.CANDIDATES,
        indexed=services.INDEXED,
        headline_chars=services.HEADLINE_CHARS,
    )
    params = {"query": query, "limit": 5, "options": services._HEADLINE_OPTIONS}
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_common_word_ranks_only_a_bounded_set_title_matches_first(shelf, monkeypatch) -> None:
    monkeypatch.setattr(services, "WINDOW", 100)
    monkeypatch.setattr(services, "CANDIDATES", 20)
    with CaptureQueriesContext(connection) as queries:
        hits = services.search("parcel", lang="en", record_miss=False)
    assert len(queries) == 2  # ranked with headlines in one statement, then the rows
    # Every article matches; the most read ones were ranked, by views among equals.
    assert [h.article.view_count for h in hits] == [599, 598, 597, 596, 595]
    assert all("<mark>parcel</mark>" in h.snippet.lower() for h in hits)
    # The window held enough matches: the search over every article never ran, and only the
    # window's first 20 matches were ranked.
    plan = _plan("'parcel':*")
    assert re.search(r"One-Time Filter: .*\n.*\(never executed\)", plan), plan
    assert "CTE Scan on popular (actual rows=20 loops=1)" in plan, plan


def test_a_rare_word_is_looked_up_beyond_the_most_read(shelf) -> None:
    plan = _plan("'zephyrium':*")
    assert "One-Time Filter" in plan and "never executed" not in plan, plan


def test_a_title_match_beats_views_among_the_candidates(shelf, monkeypatch) -> None:
    # The little-read "Parcel lost in transit" comes first once it is a candidate: here the
    # most-read window is empty, so every match comes from the GIN index.
    monkeypatch.setattr(services, "WINDOW", 0)
    monkeypatch.setattr(services, "INDEXED", 1000)
    hits = services.search("parcel", lang="en", record_miss=False)
    assert hits[0].article.title == "Parcel lost in transit"


def test_a_rare_word_outside_the_most_read_is_found(shelf) -> None:
    [hit] = services.search("zephyrium", lang="en", record_miss=False)
    assert hit.article.view_count == 3
    assert "<mark>zephyrium</mark>" in hit.snippet


def test_a_prefix_as_typed_and_repeated_words_are_one_query(shelf) -> None:
    with CaptureQueriesContext(connection) as queries:
        hits = services.search("parcel " * 11 + "cour", lang="en", record_miss=False)
    assert len(hits) == 5
    first = queries.captured_queries[0]["sql"]
    # Every copy of the query in the statement holds "parcel" once, next to the typed "cour".
    assert first.count("parcel") == first.count("cour") > 0
