"""The snippet library pages: search (with and without htmx), create, edit, archive, restore."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from snippets.models import Snippet


@pytest.fixture
def alice_client(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


def test_the_library_needs_a_login(db) -> None:
    response = Client().get("/snippets/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_library_lists_and_searches_snippets(alice_client, library) -> None:
    page = alice_client.get("/snippets/").content.decode()
    assert "/size-chart" in page and "/shipping-times" in page and "/return-rules" in page
    assert 'href="/snippets/" aria-current="page"' in page  # the nav link

    found = alice_client.get("/snippets/", {"q": "ship"}).content.decode()
    assert "/shipping-times" in found and "/size-chart" not in found
    assert "<html" in found

    nothing = alice_client.get("/snippets/", {"q": "parcel"}).content.decode()
    assert "No snippet matches “parcel”" in nothing


def test_htmx_search_gets_only_the_list_fragment(alice_client, library) -> None:
    response = alice_client.get("/snippets/", {"q": "return"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="snippet-list">')
    assert "<html" not in html
    assert "/return-rules" in html and "/size-chart" not in html


def test_create_from_the_form(alice_client, cast) -> None:
    response = alice_client.post(
        "/snippets/new",
        {
            "title": "Out of stock: where else",
            "shortcut": "out-of-stock",
            "body": "Our sister store still has it.",
            "tags": "stock, Partners",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/snippets/"
    snippet = Snippet.objects.get(shortcut="out-of-stock")
    assert snippet.tags == ["stock", "partners"]
    assert snippet.created_by == cast.alice
    assert "Snippet /out-of-stock created." in alice_client.get("/snippets/").content.decode()


def test_the_form_shows_a_taken_shortcut_and_keeps_the_input(alice_client, library) -> None:
    response = alice_client.post(
        "/snippets/new", {"title": "Sizes again", "shortcut": "size-chart", "body": "EU 44"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "already used by another snippet" in html
    assert 'value="Sizes again"' in html
    assert Snippet.objects.filter(shortcut="size-chart").count() == 1


def test_the_form_refuses_a_bad_shortcut(alice_client, db) -> None:
    response = alice_client.post(
        "/snippets/new", {"title": "Sizes", "shortcut": "Size Chart", "body": "EU 44"}
    )
    assert response.status_code == 200
    assert "lower-case letters, digits and single hyphens" in response.content.decode()
    assert not Snippet.objects.exists()


def test_edit_prefills_and_saves(alice_client, library, cast) -> None:
    snippet = library["shipping-times"]
    form = alice_client.get(f"/snippets/{snippet.pk}/edit").content.decode()
    assert 'value="Shipping times"' in form and "Standard shipping takes" in form

    response = alice_client.post(
        f"/snippets/{snippet.pk}/edit",
        {
            "title": "Shipping times (EU)",
            "shortcut": "shipping-times",
            "body": "2-4 business days.",
            "tags": "shipping, eu",
        },
    )
    assert response.status_code == 302
    snippet.refresh_from_db()
    assert (snippet.title, snippet.body, snippet.tags) == (
        "Shipping times (EU)",
        "2-4 business days.",
        ["shipping", "eu"],
    )
    assert snippet.updated_by == cast.alice


def test_archive_and_restore_without_and_with_htmx(alice_client, library) -> None:
    snippet = library["return-rules"]
    response = alice_client.post(f"/snippets/{snippet.pk}/archive", {"archived": "1"})
    assert response.status_code == 302
    snippet.refresh_from_db()
    assert snippet.archived
    row_id = f'id="snippet-{snippet.pk}"'
    assert row_id not in alice_client.get("/snippets/").content.decode()
    assert row_id in alice_client.get("/snippets/?archived=1").content.decode()

    row = alice_client.post(
        f"/snippets/{snippet.pk}/archive", {"archived": "0"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert row.lstrip().startswith(f'<tr id="snippet-{snippet.pk}"')
    assert "Archive" in row and "Restore" not in row
    snippet.refresh_from_db()
    assert not snippet.archived

    assert alice_client.get(f"/snippets/{snippet.pk}/archive").status_code == 405


def test_forms_need_the_csrf_token(cast, library) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    snippet = library["size-chart"]
    assert client.post(f"/snippets/{snippet.pk}/archive", {"archived": "1"}).status_code == 403
    assert (
        client.post("/snippets/new", {"title": "T", "shortcut": "t", "body": "b"}).status_code
        == 403
    )
    snippet.refresh_from_db()
    assert not snippet.archived and not Snippet.objects.filter(shortcut="t").exists()

    html = client.get("/snippets/new").content.decode()
    token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    created = client.post(
        "/snippets/new",
        {"title": "T", "shortcut": "t", "body": "b", "csrfmiddlewaretoken": token},
    )
    assert created.status_code == 302


def test_the_demo_snippets_load_once(cast) -> None:
    call_command("load_snippets_demo")
    call_command("load_snippets_demo")
    shortcuts = set(Snippet.objects.values_list("shortcut", flat=True))
    assert {"size-chart", "shipping-times", "return-rules", "out-of-stock"} <= shortcuts
    assert Snippet.objects.count() == len(shortcuts) >= 6
