"""The agent inbox: views, filters, full-text search, keyset paging, htmx fragment, query counts."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import CustomerKind
from tests import factories
from tickets import services
from tickets.models import Status, Tag, Ticket


@pytest.fixture
def alice_client(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


def _ticket(subject: str, *, minutes_ago: int = 0, **fields) -> Ticket:
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return factories.TicketFactory(subject=subject, updated_at=when, **fields)


def _subjects(html: str) -> list[str]:
    return [unescape(s) for s in re.findall(r'<a href="/tickets/\d+/">([^<]+)</a>', html)]


def test_root_redirects_to_inbox(alice_client) -> None:
    response = alice_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"


def test_inbox_needs_login(db) -> None:
    response = Client().get("/inbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_views_show_their_tickets(cast, alice_client) -> None:
    _ticket("Mine and open", assignee=cast.alice, status=Status.OPEN)
    _ticket("Bob's open", assignee=cast.bob, status=Status.OPEN)
    _ticket("Nobody's new", status=Status.NEW)
    _ticket("Waiting on customer", assignee=cast.alice, status=Status.PENDING)
    _ticket("All done", assignee=cast.bob, status=Status.SOLVED)

    def view(name: str) -> set[str]:
        response = alice_client.get("/inbox/", {"view": name})
        assert response.status_code == 200
        return set(_subjects(response.content.decode()))

    assert view("mine") == {"Mine and open", "Waiting on customer"}
    assert view("unassigned") == {"Nobody's new"}
    assert view("open") == {"Mine and open", "Bob's open", "Nobody's new"}
    assert view("pending") == {"Waiting on customer"}
    assert view("solved") == {"All done"}
    assert len(view("all")) == 5


def test_sidebar_shows_a_count_per_view(cast, alice_client) -> None:
    _ticket("One", assignee=cast.alice, status=Status.OPEN)
    _ticket("Two", status=Status.NEW)
    _ticket("Three", status=Status.NEW)
    html = alice_client.get("/inbox/").content.decode()
    counts = dict(re.findall(r'\?view=(\w+)"[^>]*>\w+ <span class="count"[^>]*>(\d+)', html))
    assert counts == {
        "mine": "1",
        "unassigned": "2",
        "open": "3",
        "pending": "0",
        "solved": "0",
        "all": "3",
        "spam": "0",
    }


def test_filters_by_status_type_channel_tag_and_customer_kind(cast, alice_client) -> None:
    vendor = factories.CustomerFactory(kind=CustomerKind.VENDOR)
    care = _ticket("Late parcel", type="care", channel="api")
    services.set_tags(care, ["shipping"])
    _ticket("Vendor invoice", customer=vendor, channel="web")
    _ticket("Plain question", status=Status.PENDING)

    def listed(**params: str) -> set[str]:
        return set(
            _subjects(alice_client.get("/inbox/", {"view": "all", **params}).content.decode())
        )

    assert listed(type="care") == {"Late parcel"}
    assert listed(channel="web") == {"Vendor invoice"}
    assert listed(tag="shipping") == {"Late parcel"}
    assert listed(kind="vendor") == {"Vendor invoice"}
    assert listed(status="pending") == {"Plain question"}
    assert listed(assignee=str(cast.bob.pk)) == set()


def test_full_text_search_finds_words_in_messages(cast, alice_client) -> None:
    customer = factories.CustomerFactory()
    services.create_ticket(
        services.NewTicket(
            customer=customer, subject="Shoes", body_text="My zeppelin-shaped shoes never arrived"
        )
    )
    services.create_ticket(
        services.NewTicket(customer=customer, subject="Hat", body_text="The hat is too small")
    )
    html = alice_client.get("/inbox/", {"view": "all", "q": "zeppelin"}).content.decode()
    assert _subjects(html) == ["Shoes"]
    html = alice_client.get("/inbox/", {"view": "all", "q": "nothing-like-this"}).content.decode()
    assert _subjects(html) == []


def test_keyset_paging_walks_every_ticket_once(alice_client) -> None:
    for i in range(57):
        _ticket(f"Ticket {i:02d}", minutes_ago=i)
    first = alice_client.get("/inbox/", {"view": "all"}).content.decode()
    first_subjects = _subjects(first)
    assert len(first_subjects) == 50
    assert first_subjects[0] == "Ticket 00"
    next_href = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = alice_client.get(next_href).content.decode()
    second_subjects = _subjects(second)
    assert len(second_subjects) == 7
    assert 'rel="next"' not in second
    assert set(first_subjects) | set(second_subjects) == {f"Ticket {i:02d}" for i in range(57)}


def test_a_bad_cursor_starts_from_the_first_page(alice_client) -> None:
    _ticket("Only one")
    response = alice_client.get("/inbox/", {"view": "all", "cursor": "garbage!"})
    assert response.status_code == 200
    assert _subjects(response.content.decode()) == ["Only one"]


def test_htmx_request_gets_only_the_table_fragment(alice_client) -> None:
    _ticket("Fragmented")
    response = alice_client.get("/inbox/", {"view": "all"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket-table"')
    assert "<html" not in html
    assert "Fragmented" in html


def test_inbox_page_costs_the_same_few_queries_for_few_or_many_rows(
    cast, alice_client, django_assert_max_num_queries
) -> None:
    for i in range(3):
        services.set_tags(_ticket(f"Few {i}", assignee=cast.bob), ["a", "b"])
    # session, user, rows, (emails of customers without a name), the page's lists and tags
    with django_assert_max_num_queries(5):
        assert alice_client.get("/inbox/", {"view": "all"}).status_code == 200
    for i in range(50):
        services.set_tags(_ticket(f"Many {i}", assignee=cast.alice), ["c"])
    with django_assert_max_num_queries(5):
        response = alice_client.get("/inbox/", {"view": "all"})
    assert len(_subjects(response.content.decode())) == 50
    with django_assert_max_num_queries(5):
        alice_client.get("/inbox/", {"view": "all"}, HTTP_HX_REQUEST="true")


def test_inbox_documents_its_keyboard_shortcuts(alice_client) -> None:
    html = alice_client.get("/inbox/").content.decode()
    assert 'id="shortcut-help"' in html
    for key in (
        "<kbd>j</kbd>",
        "<kbd>k</kbd>",
        "<kbd>Enter</kbd>",
        "<kbd>r</kbd>",
        "<kbd>Esc</kbd>",
    ):
        assert key in html
    assert "js/inbox.js" in html


def test_a_tag_filter_finds_the_tagged_tickets_and_follows_every_change_of_tags(
    alice_client, cast
) -> None:
    # On Postgres the filter reads the ticket's own tag ids (a trigger on the link table keeps
    # them): tags set by the services, added and removed in bulk, and straight through the ORM.
    tickets = [_ticket(f"Tagged {i}", minutes_ago=i) for i in range(4)]
    for ticket in tickets[:3]:
        services.set_tags(ticket, ["refund", "vip"])
    services.add_tags(tickets[3], by=cast.alice, names=["refund"])
    services.remove_tags(tickets[2], by=cast.alice, names=["refund"])
    tickets[1].tags.clear()
    tickets[1].tags.add(Tag.objects.get(name="refund"))
    _ticket("Untagged")

    tagged = alice_client.get("/inbox/", {"view": "all", "tag": "refund"}).content.decode()
    vip = alice_client.get("/inbox/", {"view": "all", "tag": "vip"}).content.decode()
    unknown = alice_client.get("/inbox/", {"view": "all", "tag": "nope"}).content.decode()

    # (A bulk tag or untag is activity: it moves the ticket up the list.)
    assert sorted(_subjects(tagged)) == ["Tagged 0", "Tagged 1", "Tagged 3"]
    assert sorted(_subjects(vip)) == ["Tagged 0", "Tagged 2"]
    assert _subjects(unknown) == []
