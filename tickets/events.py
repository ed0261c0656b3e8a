"""Realtime events about tickets: payload shapes in one place, published only by services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from django.core.cache import cache
from django.db import transaction

from core.realtime import send_event_on_commit
from tickets.models import Message, Ticket

INBOX_GROUP = "inbox"
# Bumped after every change the inbox hears about; sidebar counts computed before it are
# recomputed (tickets/inbox_counts.py).
COUNTS_GENERATION_KEY = "inbox-counts:generation"


def bump_counts() -> None:
    """Something the inbox counts changed (call after commit)."""
    try:
        cache.incr(COUNTS_GENERATION_KEY)
    except ValueError:  # not there yet (or evicted): start it
        cache.add(COUNTS_GENERATION_KEY, 1, timeout=None)
    except Exception:  # the cache is a hint; counts then age out by their timeout
        return


def inbox_changed_on_commit(event: Mapping[str, Any]) -> None:
    """Tell the inbox (live rows, sidebar counts) after the current transaction commits."""
    transaction.on_commit(bump_counts)  # first, so a page told of the change counts anew
    send_event_on_commit(INBOX_GROUP, event)


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


class TicketChanged(TypedDict):
    type: Literal["ticket.changed"]
    ticket_id: int
    change: str
    status: str
    assignee_id: int | None
    updated_at: str


class MessageAdded(TypedDict):
    type: Literal["ticket.message"]
    ticket_id: int
    message_id: int
    author_type: str
    internal: bool


class TicketUpdated(TypedDict):
    type: Literal["ticket.updated"]
    ticket_id: int
    by_id: int | None


def ticket_changed(ticket: Ticket, change: str) -> TicketChanged:
    return {
        "type": "ticket.changed",
        "ticket_id": ticket.pk,
        "change": change,
        "status": ticket.status,
        "assignee_id": ticket.assignee_id,
        "updated_at": ticket.updated_at.isoformat(),
    }


def message_added(message: Message) -> MessageAdded:
    return {
        "type": "ticket.message",
        "ticket_id": message.ticket_id,
        "message_id": message.pk,
        "author_type": message.author_type,
        "internal": message.internal,
    }


def ticket_updated(ticket: Ticket, *, by: object) -> TicketUpdated:
    return {"type": "ticket.updated", "ticket_id": ticket.pk, "by_id": getattr(by, "pk", None)}


class Viewer(TypedDict):
    id: int
    name: str


class ViewersChanged(TypedDict):
    type: Literal["ticket.viewers"]
    ticket_id: int
    viewers: list[Viewer]


def viewers_changed(ticket_id: int, users: list[Any]) -> ViewersChanged:
    return {
        "type": "ticket.viewers",
        "ticket_id": ticket_id,
        "viewers": [{"id": u.pk, "name": u.display_name} for u in users],
    }


class TicketsChanged(TicketChanged):
    ticket_ids: list[int]


def tickets_changed(tickets: list[Ticket], change: str) -> TicketsChanged:
    """One inbox event for a batch (follow-ups sent together): the inbox re-fetches once anyway,
    so a batch of 200 costs one publish instead of 200. `ticket_id` is the latest, for clients
    reading only that."""
    latest = max(tickets, key=lambda t: (t.updated_at, t.pk))
    return {
        **ticket_changed(latest, change),
        "ticket_ids": [t.pk for t in tickets],
    }
