"""Ticket events as they come out of the real channel layer after the service that sends them:
the inbox feed (`ticket.changed`) and a ticket's own group (`ticket.message`, `ticket.updated`,
`ticket.viewers`)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests import factories
from tickets import events, services
from tickets.models import Message, Ticket


def test_a_new_ticket_and_a_reply_reach_the_inbox_and_the_ticket(db, cast, published):
    customer = factories.CustomerFactory(email="liv@shop.example")
    created: dict = {}

    def open_ticket() -> None:
        created["ticket"], _ = services.create_ticket(
            services.NewTicket(customer=customer, subject="Parcel", body_text="Where is it?")
        )

    [changed] = published([events.INBOX_GROUP], open_ticket)
    ticket = Ticket.objects.get(pk=created["ticket"].pk)
    assert changed == {
        "type": "ticket.changed",
        "ticket_id": ticket.pk,
        "change": "created",
        "status": ticket.status,
        "assignee_id": None,
        "updated_at": ticket.updated_at.isoformat(),
    }

    caught = published(
        [events.INBOX_GROUP, events.ticket_group(ticket.pk)],
        lambda: services.add_agent_reply(ticket, by=cast.alice, body_text="On its way."),
    )
    reply = Message.objects.get(ticket=ticket, author_user=cast.alice)
    assert {"type": "ticket.message", "ticket_id": ticket.pk, "message_id": reply.pk,
            "author_type": "agent", "internal": False} in caught  # fmt: skip
    assert [e["change"] for e in caught if e["type"] == "ticket.changed"] == ["reply"]


def test_a_scheduled_follow_up_updates_the_ticket_page(db, cast, published):
    ticket = factories.TicketFactory()
    caught = published(
        [events.ticket_group(ticket.pk)],
        lambda: services.schedule_follow_up(
            ticket, by=cast.bob, send_at=timezone.now() + timedelta(days=1), body="Any news?"
        ),
    )
    assert caught == [{"type": "ticket.updated", "ticket_id": ticket.pk, "by_id": cast.bob.pk}]


def test_viewers_are_announced_when_an_agent_opens_and_leaves_a_ticket(db, cast, published):
    ticket = factories.TicketFactory()
    group = events.ticket_group(ticket.pk)
    published([group], lambda: services.touch_viewer(ticket, user=cast.alice))
    [both] = published([group], lambda: services.touch_viewer(ticket, user=cast.bob))
    assert both["type"] == "ticket.viewers" and both["ticket_id"] == ticket.pk
    assert sorted(both["viewers"], key=lambda v: v["id"]) == [
        {"id": cast.alice.pk, "name": "Alice Agent"},
        {"id": cast.bob.pk, "name": "Bob Builder"},
    ]
    [left] = published([group], lambda: services.leave_viewer(ticket.pk, user=cast.bob))
    assert left == {
        "type": "ticket.viewers",
        "ticket_id": ticket.pk,
        "viewers": [{"id": cast.alice.pk, "name": "Alice Agent"}],
    }
