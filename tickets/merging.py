"""Merging duplicate tickets: everything moves to the survivor, the merged ticket stays a pointer.

Messages (with their attachments), follow-ups, grants, chats and the CSAT survey move to the
survivor; its thread stays in time order because messages are ordered by when they were written.
The merged ticket is closed with `merged_into` set, keeps its reference and a system note, and mail
that threads onto it (its reference token, or a Message-ID now on the survivor) lands in the
survivor (`tickets.inbound.find_ticket` follows the pointer).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record
from core import hooks
from core.merging import MergeRefused, lock_pair, survivor
from core.realtime import send_event_on_commit
from tickets import events, waits
from tickets.models import AuthorType, Channel, Message, Status, Ticket, TicketView
from tickets.services import (
    SEARCH_DOCUMENT_LIMIT,
    TicketError,
    _add_message,
)


# How far a chain of merged pointers is followed (a chain is one hop deep by construction).
def survivor_of(ticket: Ticket) -> Ticket:
    """The ticket that `ticket` was merged into, following pointers (itself if not merged)."""
    return survivor(ticket)


def merge_ticket(source: Ticket, *, into: Ticket, by: User | None) -> Ticket:
    """Merge `source` into `into` and return the survivor.

    Refused (TicketError, 422 in the API): into itself (`merge_into_self`), a ticket already merged
    (`already_merged`), into a merged ticket (`target_merged`), or into a ticket whose pointers lead
    back to `source` (`merge_cycle`). Locks both rows, lower id first, so two merges never deadlock.
    """
    with transaction.atomic():
        try:
            source, into = lock_pair(source, into, noun="Ticket", ref="#")
        except MergeRefused as refused:
            raise TicketError(str(refused), code=refused.code) from None
        _move_everything(source, into)
        _absorb(into, source, by=by)
        record(
            "ticket.merged",
            obj=source,
            actor=by,
            changes={"merged_into": (None, into.pk), "status": (source.status, Status.CLOSED)},
            detail={"into": into.pk},
        )
        _leave_pointer(source, into, by=by)
        for ticket in (source, into):
            events.inbox_changed_on_commit(events.ticket_changed(ticket, "merged"))
            send_event_on_commit(
                events.ticket_group(ticket.pk), events.ticket_updated(ticket, by=by)
            )
            hooks.ticket_updated.fire(ticket=ticket, change="merged", by=by)
    return into


def _absorb(into: Ticket, source: Ticket, *, by: User | None) -> None:
    """The survivor notes the merge, reads what the merged ticket said (search), takes its tags,
    reopens for an open duplicate, takes its assignee if it had none, and its customer's wait."""
    _add_message(
        into,
        author_type=AuthorType.SYSTEM,
        body_text=f"Ticket #{source.pk} ({source.subject}) was merged into this one"
        + (f" by {by.display_name}." if by else "."),
        internal=True,
        channel=Channel.API,
    )
    into.refresh_from_db(fields=["updated_at", "last_message_at", "search_document"])
    extra = "\n" + source.search_document
    into.search_document = (into.search_document + extra)[:SEARCH_DOCUMENT_LIMIT]
    into.tags.add(*source.tags.all())
    if into.status in (Status.SOLVED, Status.CLOSED) and source.status in (
        Status.NEW,
        Status.OPEN,
    ):
        into.status, into.solved_at = Status.OPEN, None
    if into.assignee_id is None and source.assignee_id is not None:
        into.assignee_id = source.assignee_id
    # The customer's wait moves too: the survivor's customer waits since the earlier message.
    wait_fields = _merge_waits(source, into)
    into.save(update_fields=["search_document", "status", "solved_at", "assignee", *wait_fields])


def _leave_pointer(source: Ticket, into: Ticket, *, by: User | None) -> None:
    """The merged ticket closes (spam stays spam) as a pointer to the survivor, with a note."""
    now = timezone.now()
    source.merged_into = into
    if source.status != Status.SPAM:
        source.status = Status.CLOSED
        source.solved_at = source.solved_at or now
    source.updated_at = now
    source.customer_waiting_since = None
    source.save(
        update_fields=[
            "merged_into",
            "status",
            "solved_at",
            "updated_at",
            "customer_waiting_since",
            *waits.refresh_due_times(source),
        ]
    )
    Message.objects.create(
        ticket=source,
        author_type=AuthorType.SYSTEM,
        internal=True,
        channel=Channel.API,
        body_text=f"Merged into #{into.pk}" + (f" by {by.display_name}." if by else "."),
    )


def _merge_waits(source: Ticket, into: Ticket) -> list[str]:
    """The survivor's customer-wait fields after a merge (in memory; returns the fields)."""
    if into.status in (Status.NEW, Status.OPEN) and source.status in (Status.NEW, Status.OPEN):
        waiting = [t for t in (source.customer_waiting_since, into.customer_waiting_since) if t]
        into.customer_waiting_since = min(waiting) if waiting else None
    elif into.status not in (Status.NEW, Status.OPEN):
        into.customer_waiting_since = None
    last = [t for t in (source.last_customer_message_at, into.last_customer_message_at) if t]
    into.last_customer_message_at = max(last) if last else None
    return [
        "customer_waiting_since",
        "last_customer_message_at",
        *waits.refresh_due_times(into),
    ]


def _move_everything(source: Ticket, into: Ticket) -> None:
    """Re-point every row that refers to `source` (messages, follow-ups, and the rows of apps
    above this one: grants, chats, CSAT, care tasks, emails) at `into`, through the model's
    relations, so this app imports none of them. A one-to-one (CSAT survey, care task) moves
    only when the survivor has none of its own. Who is viewing the merged ticket is dropped."""
    TicketView.objects.filter(ticket=source).delete()
    for relation in Ticket._meta.related_objects:
        if relation.related_model is Ticket or relation.many_to_many:
            continue  # merged_from pointers; tags are handled by the caller
        field = relation.field.name
        rows = relation.related_model._base_manager.filter(**{field: source})
        if (
            relation.one_to_one
            and relation.related_model._base_manager.filter(**{field: into}).exists()
        ):
            continue
        rows.update(**{field: into})
