"""Saved views: personal and shared filters, in the inbox sidebar with capped, cached counts."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests import factories
from tickets import inbox_counts, saved_views
from tickets.models import SavedView

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()


def test_create_and_list_personal_and_shared_views(token_client, cast):
    alice, bob = token_client(cast.alice), token_client(cast.bob)
    factories.TicketFactory(status="open", channel="web")
    factories.TicketFactory(status="open", channel="email")

    mine = alice.post(
        "/api/v1/views",
        {"name": "Web, open", "filters": {"view": "open", "channel": "web"}},
        content_type="application/json",
    )
    shared = alice.post(
        "/api/v1/views",
        {"name": "Everything open", "filters": {"view": "open"}, "shared": True},
        content_type="application/json",
    )

    assert mine.status_code == 201 and shared.status_code == 201
    by_alice = {v["name"]: v["count"] for v in alice.get("/api/v1/views").json()["items"]}
    by_bob = {v["name"]: v["count"] for v in bob.get("/api/v1/views").json()["items"]}
    assert by_alice == {"Web, open": 1, "Everything open": 2}
    assert by_bob == {"Everything open": 2}  # Alice's personal view is hers


def test_bad_filters_are_refused(api_client):
    unknown = api_client.post(
        "/api/v1/views",
        {"name": "x", "filters": {"colour": "red"}},
        content_type="application/json",
    )
    bad = api_client.post(
        "/api/v1/views",
        {"name": "x", "filters": {"status": "on-fire"}},
        content_type="application/json",
    )

    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_filters")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_filters")
    assert not SavedView.objects.exists()


def test_the_inbox_shows_saved_views_and_opens_one(cast):
    web = factories.TicketFactory(status="open", channel="web", subject="From the form")
    factories.TicketFactory(status="open", channel="email", subject="By mail")
    view = saved_views.create_view(
        owner=cast.alice, name="Web form", filters={"channel": "web"}, shared=False
    )
    client = Client()
    client.force_login(cast.alice)

    sidebar = client.get("/inbox/").content.decode()
    opened = client.get(f"/inbox/?saved={view.pk}").content.decode()

    assert f'href="?saved={view.pk}"' in sidebar and "Web form" in sidebar
    assert f'data-ticket-id="{web.pk}"' in opened and "By mail" not in opened


def test_counts_are_cached_not_recounted_each_time(cast, django_assert_max_num_queries):
    factories.TicketFactory.create_batch(3, status="new")
    view = saved_views.create_view(
        owner=cast.alice, name="New", filters={"status": "new"}, shared=True
    )
    assert inbox_counts.saved_counts([view], user=cast.alice) == {view.pk: 3}

    factories.TicketFactory(status="new")  # written behind the services' back: no change heard
    with django_assert_max_num_queries(0):
        assert inbox_counts.saved_counts([view], user=cast.alice) == {view.pk: 3}  # cached
    cache.clear()
    assert inbox_counts.saved_counts([view], user=cast.alice) == {view.pk: 4}


def test_saving_the_current_filters_from_the_sidebar(cast):
    client = Client()
    client.force_login(cast.alice)

    response = client.post(
        "/inbox/views",
        {"name": "Pending care", "f_view": "pending", "f_type": "care", "shared": "1"},
    )

    view = SavedView.objects.get()
    assert response["Location"] == f"/inbox/?saved={view.pk}"
    assert view.filters == {"view": "pending", "type": "care"} and view.shared


def test_an_agent_opens_their_own_and_shared_views_but_not_anothers(cast):
    web = factories.TicketFactory(status="open", channel="web", subject="From the form")
    mail = factories.TicketFactory(status="open", channel="email", subject="By mail")
    own = saved_views.create_view(
        owner=cast.alice, name="Web form", filters={"channel": "web"}, shared=False
    )
    shared = saved_views.create_view(
        owner=cast.bob, name="Mail", filters={"view": "open", "channel": "email"}, shared=True
    )
    private = saved_views.create_view(
        owner=cast.bob, name="Bob's mail", filters={"channel": "email"}, shared=False
    )
    client = Client()
    client.force_login(cast.alice)

    def shown(saved: str) -> tuple[bool, bool]:
        page = client.get(f"/inbox/?saved={saved}")
        assert page.status_code == 200
        html = page.content.decode()
        return f'data-ticket-id="{web.pk}"' in html, f'data-ticket-id="{mail.pk}"' in html

    assert shown(str(own.pk)) == (True, False)
    assert shown(str(shared.pk)) == (False, True)
    assert shown(str(private.pk)) == (True, True)  # not hers: the default view, both open
    for odd in ("²", "9" * 30, "-1", str(private.pk + 1000)):
        assert shown(odd) == (True, True)
    assert saved_views.visible_view(cast.alice, own.pk) == own
    assert saved_views.visible_view(cast.alice, own.pk).filters == {"channel": "web"}
    assert saved_views.visible_view(cast.alice, private.pk) is None
    assert saved_views.visible_view(cast.bob, private.pk).name == "Bob's mail"
