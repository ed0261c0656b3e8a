"""A ticket page's statement is compiled once per agent, filters and page kind
(tickets.selectors._page_sql) and run with each page's cursor: every page of every view walks the
same rows, in the same order, as the ORM query it replaces, and the compiled path is the one taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.helpers.inbox import walk_pages
from tickets import selectors, services
from tickets.models import Status, Tag, Ticket

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def tickets(cast) -> list[Ticket]:
    """Nine tickets, two pairs updated at the same instant (the id breaks the tie)."""
    made = []
    for i, minutes in enumerate((5, 3, 3, 9, 1, 7, 7, 2, 4)):
        ticket = factories.TicketFactory(
            subject=f"ticket {i}",
            status=Status.OPEN if i % 3 else Status.PENDING,
            assignee=cast.bob if i % 2 else None,
        )
        at = AT - timedelta(minutes=minutes)
        Ticket.objects.filter(pk=ticket.pk).update(
            updated_at=at, customer_waiting_since=at if i % 3 else None
        )
        made.append(ticket)
    return made


@pytest.mark.parametrize(
    "filters",
    [
        selectors.InboxFilters(),
        selectors.InboxFilters(view="open"),
        selectors.InboxFilters(view="mine"),
        selectors.InboxFilters(view="waiting"),
        selectors.InboxFilters(view="all", status="open", assignee_id=-1),  # bob's, set below
        selectors.InboxFilters(view="all", tag="refund"),  # six of the nine, tagged below
    ],
)
def test_every_page_walks_the_orm_querys_rows_in_its_order(cast, tickets, filters) -> None:
    if filters.assignee_id == -1:
        filters = selectors.InboxFilters(view="all", status="open", assignee_id=cast.bob.pk)
    if filters.tag:
        for ticket in tickets[:6]:
            services.set_tags(ticket, ["refund"])
    user = cast.bob
    order = (
        ("customer_waiting_since", "id") if filters.view == "waiting" else ("-updated_at", "-id")
    )
    expected = list(
        selectors.filtered(user=user, filters=filters).order_by(*order).values_list("id", flat=True)
    )
    assert len(expected) >= 3  # more than one page
    selectors._page_sql.cache_clear()

    assert walk_pages(user, filters) == expected
    assert walk_pages(user, filters) == expected

    compiled = selectors._page_sql.cache_info()
    assert compiled.misses == 2  # the first page's statement and the next pages' one
    assert compiled.hits >= 2  # the second walk compiled nothing


def test_a_compiled_page_reads_the_values_the_orm_reads(cast, tickets) -> None:
    filters = selectors.InboxFilters(view="all")
    query = selectors._page_query(user=cast.bob, filters=filters, keyset=None, limit=50)
    orm_rows = list(query)
    rows = selectors._page_values(cast.bob, filters, None, 50)
    assert rows == orm_rows
    assert [[type(v) for v in row] for row in rows] == [[type(v) for v in row] for row in orm_rows]
    assert all(row[8].tzinfo is UTC for row in rows)  # updated_at, in UTC as the ORM gives it


def test_a_tag_page_is_compiled_once_with_the_tags_id_and_a_search_builds_its_query(
    cast, tickets
) -> None:
    for ticket in tickets[:4]:
        services.set_tags(ticket, ["refund"])
    selectors._page_sql.cache_clear()
    tagged = selectors.InboxFilters(tag="refund")

    first = selectors.ticket_page(user=cast.bob, filters=tagged)
    assert sorted(row.id for row in first.items) == sorted(t.pk for t in tickets[:4])
    # The tag deleted and made again has a new id: the same statement, run with the new one.
    Tag.objects.filter(name="refund").delete()
    services.set_tags(tickets[5], ["refund"])
    again = selectors.ticket_page(user=cast.bob, filters=tagged)
    assert [row.id for row in again.items] == [tickets[5].pk]
    assert (
        selectors.ticket_page(user=cast.bob, filters=selectors.InboxFilters(tag="nope")).items == []
    )
    assert selectors._page_sql.cache_info()[:2] == (1, 1)  # (hits, misses)

    selectors.ticket_page(user=cast.bob, filters=selectors.InboxFilters(q="ticket"))
    assert selectors._page_sql.cache_info().misses == 1  # a search reads while it is built
