"""A tag's view in some statuses reads the tag links' index (tickets/tag_activity.py): each link
carries its ticket's status and last activity, kept by triggers whatever changes the ticket or
its tags (tickets/migrations/0011_ticket_tag_activity.py), and the pages and counts read through
it are the ones the general query gives."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction

from tests import factories
from tests.helpers.inbox import walk_pages
from tickets import inbox_counts, saved_views, selectors, services, spam
from tickets.merging import merge_ticket
from tickets.models import Status, Tag, Ticket

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _out_of_step() -> list[tuple[int, str, str]]:
    """Links whose copy differs from their ticket: (ticket, link's status, ticket's status)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, l.status, t.status FROM tickets_ticket_tags l"
            " JOIN tickets_ticket t ON t.id = l.ticket_id"
            " WHERE l.status <> t.status OR l.updated_at <> t.updated_at"
        )
        return cursor.fetchall()


def _links() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket_tags")
        return cursor.fetchone()[0]


def test_links_follow_their_ticket_whatever_changes_it(db, cast) -> None:
    first, second = factories.TicketFactory(), factories.TicketFactory()
    services.set_tags(first, ["refund", "late"])
    services.add_tags(second, by=cast.alice, names=["refund"])
    assert _links() == 3 and _out_of_step() == []

    services.set_status(first, status=Status.PENDING, by=cast.alice)
    services.add_agent_reply(second, by=cast.bob, body_text="On its way.", status=Status.SOLVED)
    assert _out_of_step() == []
    services.add_customer_message(
        second, customer=second.customer, body_text="It did not come."
    )  # reopens it
    assert _out_of_step() == []
    spam.mark_spam(first, by=cast.alice)
    assert _out_of_step() == []
    spam.mark_not_spam(first, by=cast.alice)
    # Written past the services, as a data fix or the admin would.
    Ticket.objects.filter(pk=second.pk).update(status=Status.CLOSED, updated_at=AT)
    assert _out_of_step() == []
    second.tags.add(Tag.objects.get(name="late"))  # a new link takes the ticket as it is now
    assert _out_of_step() == [] and _links() == 4

    merge_ticket(first, into=second, by=cast.alice)
    assert _out_of_step() == []
    Tag.objects.get(name="late").delete()
    assert _out_of_step() == []


def test_a_tag_added_while_its_ticket_changes_copies_the_change(transactional_db, cast) -> None:
    """The new link reads its ticket under the lock an update of the ticket holds: a change
    committed meanwhile is copied, not the version from before it."""
    ticket = factories.TicketFactory(status=Status.OPEN)
    refund = Tag.objects.create(name="refund")
    changing, errors = threading.Event(), []

    def solve() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.filter(pk=ticket.pk).update(status=Status.SOLVED, updated_at=AT)
                changing.set()
                time.sleep(0.5)  # the tag is added meanwhile, outside the services' lock
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    solver = threading.Thread(target=solve)
    solver.start()
    assert changing.wait(5)
    Ticket.objects.get(pk=ticket.pk).tags.add(refund)
    solver.join()
    assert errors == []
    assert _out_of_step() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, updated_at FROM tickets_ticket_tags")
        assert cursor.fetchall() == [("solved", AT)]


@pytest.fixture
def tagged(db, cast) -> list[Ticket]:
    """Twelve tickets in every status, pairs at the same instant (the id breaks the tie), eight
    of them tagged "refund"."""
    statuses = [Status.NEW, Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED, Status.SPAM]
    made = []
    for i, minutes in enumerate((5, 3, 3, 9, 1, 7, 7, 2, 4, 8, 6, 6)):
        ticket = factories.TicketFactory(subject=f"ticket {i}", status=statuses[i % 6])
        at = AT - timedelta(minutes=minutes)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=at)
        if i % 3:
            services.set_tags(ticket, ["refund"])
        made.append(ticket)
    return made


TAG_VIEWS = [
    selectors.InboxFilters(tag="refund"),
    selectors.InboxFilters(view="open", tag="refund"),
    selectors.InboxFilters(view="all", tag="refund"),
    selectors.InboxFilters(view="all", status="open", tag="refund"),
    selectors.InboxFilters(view="pending", tag="refund"),
    selectors.InboxFilters(view="solved", tag="refund"),
    selectors.InboxFilters(view="spam", tag="refund"),
    selectors.InboxFilters(status="spam", tag="refund"),  # asked for: spam shows
    selectors.InboxFilters(view="all", status="spam", tag="refund"),  # All leaves spam out
    selectors.InboxFilters(view="open", status="pending", tag="refund"),  # nothing
]


@pytest.mark.parametrize("filters", TAG_VIEWS, ids=lambda f: f"{f.view}-{f.status}")
def test_a_tag_views_pages_are_the_general_querys_rows_in_order(cast, tagged, filters) -> None:
    assert selectors.tag_statuses(filters) is not None  # read from the links' index
    expected = list(
        selectors.filtered(user=cast.bob, filters=filters)
        .order_by("-updated_at", "-id")
        .values_list("id", flat=True)
    )
    selectors._page_sql.cache_clear()
    assert walk_pages(cast.bob, filters) == expected
    assert walk_pages(cast.bob, filters) == expected  # again, through the compiled statement


@pytest.mark.parametrize("filters", TAG_VIEWS, ids=lambda f: f"{f.view}-{f.status}")
def test_a_tag_views_count_is_the_general_count(cast, tagged, filters, monkeypatch) -> None:
    view = saved_views.create_view(
        owner=cast.bob,
        name=f"refunds {filters.view} {filters.status}",
        filters={k: v for k, v in (("view", filters.view), ("status", filters.status)) if v}
        | {"tag": "refund"},
        shared=False,
    )
    expected = selectors.filtered(user=cast.bob, filters=filters).count()
    assert inbox_counts._count_saved(view, cast.bob) == expected
    monkeypatch.setattr(inbox_counts, "COUNT_CAP", 2)  # capped as the sidebar shows "999+"
    assert inbox_counts._count_saved(view, cast.bob) == min(expected, 2)


def test_other_filters_and_unknown_tags_go_the_general_way(cast, tagged) -> None:
    with_assignee = selectors.InboxFilters(view="all", tag="refund", assignee_id=cast.bob.pk)
    assert selectors.tag_statuses(with_assignee) is None
    assert selectors.tag_statuses(selectors.InboxFilters(view="mine", tag="refund")) is None
    assert selectors.tag_statuses(selectors.InboxFilters(tag="refund", q="ticket")) is None
    assert selectors.ticket_page(user=cast.bob, filters=with_assignee).items == []
    nope = selectors.InboxFilters(view="open", tag="nope")
    assert selectors.ticket_page(user=cast.bob, filters=nope).items == []
    view = saved_views.create_view(
        owner=cast.bob, name="nope", filters={"view": "open", "tag": "nope"}, shared=False
    )
    assert inbox_counts._count_saved(view, cast.bob) == 0


def _migrate(target: str) -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("tickets", target)])


def test_the_migration_fills_the_links_of_existing_tickets(transactional_db, cast) -> None:
    _migrate("0010_ticket_tag_ids")
    try:
        solved = factories.TicketFactory(status=Status.SOLVED)
        services.set_tags(solved, ["refund", "late"])
        services.set_tags(factories.TicketFactory(status=Status.OPEN), ["refund"])
    finally:
        _migrate("0011_ticket_tag_activity")
    assert _links() == 3 and _out_of_step() == []
    services.set_status(solved, status=Status.OPEN, by=cast.alice)  # the triggers run from now on
    assert _out_of_step() == []
    opened = selectors.InboxFilters(view="open", tag="refund")
    assert len(selectors.ticket_page(user=cast.alice, filters=opened).items) == 2
