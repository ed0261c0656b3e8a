"""A customer quotes the reference from their email or chat; an agent pastes it into the search."""

from __future__ import annotations

from tests import factories
from tickets import selectors
from tickets.models import Ticket


def test_a_quoted_reference_or_number_finds_its_ticket(db) -> None:
    ticket = factories.TicketFactory()
    factories.TicketFactory()

    for query in (f"#{ticket.reference}", ticket.reference, f"#{ticket.pk}"):
        assert list(selectors.search(Ticket.objects.all(), query)) == [ticket], query
    assert not selectors.search(Ticket.objects.all(), "#0000000000").exists()
