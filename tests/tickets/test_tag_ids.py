"""On Postgres each ticket row carries its tag ids (`tag_ids`), which the inbox's tag filter and
counts read; a trigger on the link table keeps them, whatever writes the tags and however many
write at once (tickets/migrations/0010_ticket_tag_ids.py)."""

from __future__ import annotations

import threading

from django.db import connection, connections

from tests import factories
from tickets import services
from tickets.merging import merge_ticket
from tickets.models import Tag, Ticket


def _stored_tag_ids(ticket: Ticket) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_ids FROM tickets_ticket WHERE id = %s", [ticket.pk])
        return sorted(cursor.fetchone()[0])


def _linked_tag_ids(ticket: Ticket) -> list[int]:
    return sorted(ticket.tags.values_list("id", flat=True))


def test_every_way_of_changing_tags_leaves_the_ticket_row_right(db, cast) -> None:
    first, second = factories.TicketFactory(), factories.TicketFactory()
    assert _stored_tag_ids(first) == []

    services.set_tags(first, ["refund", "vip", "late"])
    assert _stored_tag_ids(first) == _linked_tag_ids(first) != []
    services.set_tags(first, ["refund"])  # a replacement removes the others
    assert _stored_tag_ids(first) == _linked_tag_ids(first)
    services.add_tags(second, by=cast.alice, names=["vip", "late"])
    services.remove_tags(second, by=cast.alice, names=["late"])
    assert _stored_tag_ids(second) == _linked_tag_ids(second)

    # Straight through the ORM, as the admin's form does.
    second.tags.add(Tag.objects.get(name="refund"))
    second.tags.remove(Tag.objects.get(name="vip"))
    assert _stored_tag_ids(second) == _linked_tag_ids(second)

    # A merge gives the survivor the merged ticket's tags.
    services.set_tags(first, ["refund", "gift"])
    merge_ticket(first, into=second, by=cast.alice)
    assert _stored_tag_ids(second) == _linked_tag_ids(second)
    assert len(_stored_tag_ids(second)) == 2  # refund (both had it) and gift

    # A deleted tag leaves every ticket.
    Tag.objects.get(name="gift").delete()
    assert _stored_tag_ids(second) == _linked_tag_ids(second)
    second.tags.clear()
    assert _stored_tag_ids(second) == []


def test_two_agents_tagging_one_ticket_at_once_keep_both_tags(transactional_db, cast) -> None:
    ticket = factories.TicketFactory()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def tag(name: str) -> None:
        try:
            start.wait(5)
            services.add_tags(ticket, by=cast.alice, names=[name])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tag, args=(name,)) for name in ("refund", "vip")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _stored_tag_ids(ticket) == _linked_tag_ids(ticket)
    assert len(_stored_tag_ids(ticket)) == 2
