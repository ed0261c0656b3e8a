"""Snippet rules: validation, unique shortcuts, search, archive, and use counting under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from snippets import services
from snippets.models import Snippet, SnippetUse


def test_create_normalises_and_indexes_the_snippet(cast) -> None:
    snippet = services.create_snippet(
        title="  Size   chart ",
        shortcut="/Size-Chart",
        body="EU 43 = US 10\r\n",
        tags=["Sizing", "sizing", " shoes "],
        by=cast.alice,
    )
    assert snippet.title == "Size chart"
    assert snippet.shortcut == "size-chart"
    assert snippet.body == "EU 43 = US 10"
    assert snippet.tags == ["sizing", "shoes"]
    assert snippet.created_by == cast.alice and snippet.updated_by == cast.alice
    assert snippet.usage_count == 0 and snippet.last_used_at is None
    assert "size-chart" in snippet.search_document and "shoes" in snippet.search_document


@pytest.mark.parametrize(
    ("field", "kwargs", "code"),
    [
        ("shortcut", {"shortcut": "size chart"}, "invalid_shortcut"),
        ("shortcut", {"shortcut": "size--chart"}, "invalid_shortcut"),
        ("shortcut", {"shortcut": "x" * 51}, "invalid_shortcut"),
        ("shortcut", {"shortcut": "/"}, "invalid_shortcut"),
        ("title", {"title": "   "}, "invalid_title"),
        ("body", {"body": "\n \n"}, "invalid_body"),
        ("body", {"body": "x" * 5001}, "invalid_body"),
        ("tags", {"tags": [f"tag{n}" for n in range(11)]}, "invalid_tags"),
        ("tags", {"tags": ["x" * 31]}, "invalid_tags"),
    ],
)
def test_invalid_input_is_refused_with_a_field_and_code(cast, field, kwargs, code) -> None:
    data = {"title": "Size chart", "shortcut": "size-chart", "body": "EU 43 = US 10"} | kwargs
    with pytest.raises(services.SnippetError) as refused:
        services.create_snippet(**data, by=cast.alice)
    assert refused.value.code == code
    assert refused.value.field == field
    assert refused.value.status == 422
    assert not Snippet.objects.exists()


def test_a_shortcut_is_unique_even_against_archived_snippets(cast, library) -> None:
    services.set_archived(library["size-chart"], archived=True, by=cast.alice)
    with pytest.raises(services.ShortcutTaken) as taken:
        services.create_snippet(title="Sizes", shortcut="size-chart", body="x", by=cast.alice)
    assert taken.value.status == 409 and taken.value.code == "shortcut_taken"
    with pytest.raises(services.ShortcutTaken):
        services.update_snippet(library["return-rules"], by=cast.alice, shortcut="SIZE-CHART")
    assert Snippet.objects.filter(shortcut="size-chart").count() == 1


def test_update_changes_only_what_is_given_and_keeps_the_usage_count(cast, library) -> None:
    snippet = library["shipping-times"]
    stale = Snippet.objects.get(pk=snippet.pk)
    services.record_use(snippet, by=cast.bob)  # counted after `stale` was read

    services.update_snippet(stale, by=cast.alice, body="Standard: two to four business days.")

    stale.refresh_from_db()
    assert stale.body == "Standard: two to four business days."
    assert stale.title == "Shipping times" and stale.shortcut == "shipping-times"
    assert stale.usage_count == 1
    assert stale.updated_by == cast.alice and stale.created_by == cast.bob
    assert [s.shortcut for s in services.search("four")] == ["shipping-times"]


def test_search_matches_word_prefixes_across_title_shortcut_tags_and_body(library) -> None:
    assert [s.shortcut for s in services.search("ship")] == ["shipping-times"]
    assert [s.shortcut for s in services.search("/return")] == ["return-rules"]
    assert [s.shortcut for s in services.search("sizing")] == ["size-chart"]
    assert [s.shortcut for s in services.search("EU 43")] == ["size-chart"]
    assert [s.shortcut for s in services.search("free wor")] == ["return-rules"]
    assert services.search("parcel") == []
    assert services.search("&|!:*'") == []


def test_search_puts_the_shortcut_first_then_the_most_used(cast, library) -> None:
    tips = services.create_snippet(
        title="Chart of return labels",
        shortcut="labels",
        body="Print the return label.",
        by=cast.bob,
    )
    for _ in range(3):
        services.record_use(tips, by=cast.alice)
    # "return" is in both; the shortcut that starts with it wins over the more used one.
    assert [s.shortcut for s in services.search("return")] == ["return-rules", "labels"]
    # An empty query lists the most used first.
    assert services.search("")[0] == tips
    assert len(services.search("", limit=2)) == 2


def test_archived_snippets_leave_search_and_come_back_when_restored(cast, library) -> None:
    snippet = library["return-rules"]
    services.set_archived(snippet, archived=True, by=cast.alice)
    assert "return-rules" not in [s.shortcut for s in services.search("")]
    assert [s.shortcut for s in services.search("return", archived=True)] == ["return-rules"]
    services.set_archived(snippet, archived=False, by=cast.bob)
    assert [s.shortcut for s in services.search("return")] == ["return-rules"]


def test_postgres_search_uses_the_gin_index_on_a_large_library(cast, library) -> None:
    assert connection.vendor == "postgresql"
    Snippet.objects.bulk_create(
        Snippet(
            title=f"Filler {n}",
            shortcut=f"filler-{n}",
            body=f"Nothing to see {n}",
            search_document=f"filler {n} filler-{n} nothing to see {n}",
            created_by=cast.bob,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE snippets_snippet")
    plan = services.search_queryset("shipping").explain()
    assert "snippet_search_gin" in plan, plan
    assert [s.shortcut for s in services.search("shipping")] == ["shipping-times"]


def test_record_use_counts_each_use_and_remembers_who(cast, library) -> None:
    snippet = library["size-chart"]
    assert services.record_use(snippet, by=cast.alice) == 1
    assert services.record_use(snippet, by=cast.bob) == 2
    snippet.refresh_from_db()
    assert snippet.usage_count == 2 and snippet.last_used_at is not None
    assert list(
        SnippetUse.objects.filter(snippet=snippet).order_by("pk").values_list("used_by", flat=True)
    ) == [cast.alice.pk, cast.bob.pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_are_all_counted(cast) -> None:
    snippet = services.create_snippet(
        title="Size chart", shortcut="size-chart", body="EU 43 = US 10", by=cast.alice
    )
    threads, per_thread, errors = 8, 10, []
    start = threading.Barrier(threads)

    def use_it() -> None:
        try:
            mine = Snippet.objects.get(pk=snippet.pk)  # each thread its own stale copy
            start.wait()
            for _ in range(per_thread):
                services.record_use(mine, by=cast.bob)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=use_it) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)

    assert errors == []
    snippet.refresh_from_db()
    assert snippet.usage_count == threads * per_thread
    assert SnippetUse.objects.filter(snippet=snippet).count() == threads * per_thread
