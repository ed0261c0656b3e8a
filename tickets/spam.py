"""Spam: mark and restore tickets, block senders and domains.

A ticket marked spam leaves every inbox view (status `spam`, only the Spam view shows it) and
remembers its status for "not spam". Mail from a blocked address or domain is still stored and
filed (nothing accepted is lost) but opens its ticket as spam, so nothing answers it: no
acknowledgement, no survey, no notification.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record
from core import hooks
from core.realtime import send_event_on_commit
from tickets import events, waits
from tickets.models import BlockedSender, Status, Ticket
from tickets.services import TicketError


def mark_spam(ticket: Ticket, *, by: User | None) -> Ticket:
    """Move `ticket` to spam (idempotent). Locks the ticket row."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.merged_into_id is not None:
            raise TicketError("A merged ticket cannot be marked spam", code="merged")
        if ticket.status == Status.SPAM:
            return ticket
        ticket.status_before_spam = ticket.status
        ticket.status = Status.SPAM
        ticket.customer_waiting_since = None
        ticket.updated_at = timezone.now()
        ticket.save(
            update_fields=[
                "status",
                "status_before_spam",
                "updated_at",
                "customer_waiting_since",
                *waits.refresh_due_times(ticket),
            ]
        )
        _publish(ticket, by=by, change="spam")
    return ticket


def mark_not_spam(ticket: Ticket, *, by: User | None) -> Ticket:
    """Restore a spam ticket to the status it had (open when it arrived as spam)."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != Status.SPAM:
            return ticket
        restored = ticket.status_before_spam
        if restored not in Status.values or restored == Status.SPAM:
            restored = Status.OPEN if ticket.assignee_id else Status.NEW
        ticket.status = restored
        ticket.status_before_spam = ""
        if restored in (Status.NEW, Status.OPEN) and ticket.last_customer_message_at:
            # Not spam after all: the customer has been waiting since their message.
            ticket.customer_waiting_since = ticket.customer_waiting_since or (
                ticket.last_customer_message_at
            )
        ticket.updated_at = timezone.now()
        ticket.save(
            update_fields=[
                "status",
                "status_before_spam",
                "updated_at",
                "customer_waiting_since",
                *waits.refresh_due_times(ticket),
            ]
        )
        _publish(ticket, by=by, change="not_spam")
    return ticket


def _publish(ticket: Ticket, *, by: User | None, change: str) -> None:
    record(f"ticket.{change}", obj=ticket, actor=by, changes={"status": _statuses(ticket, change)})
    events.inbox_changed_on_commit(events.ticket_changed(ticket, change))
    send_event_on_commit(events.ticket_group(ticket.pk), events.ticket_updated(ticket, by=by))
    hooks.ticket_updated.fire(ticket=ticket, change=change, by=by)


def _statuses(ticket: Ticket, change: str) -> tuple[str, str]:
    if change == "spam":
        return ticket.status_before_spam, ticket.status
    return Status.SPAM.value, ticket.status


def normalize_pattern(pattern: str) -> str:
    """`Someone@Example.com` stays an address; `@example.com` or `example.com` is a domain."""
    pattern = pattern.strip().lower().lstrip("@")
    if not pattern or " " in pattern or "." not in pattern.rpartition("@")[2]:
        raise TicketError(
            "Give an address (name@example.com) or a domain (example.com)", code="invalid_pattern"
        )
    return pattern[:254]


def block_sender(pattern: str, *, by: User | None, note: str = "") -> BlockedSender:
    """Block an address or a domain (idempotent)."""
    with transaction.atomic():
        blocked, created = BlockedSender.objects.get_or_create(
            pattern=normalize_pattern(pattern), defaults={"created_by": by, "note": note[:200]}
        )
        if created:
            record(
                "blocked_sender.created", obj=blocked, actor=by, detail={"pattern": blocked.pattern}
            )
    return blocked


def unblock_sender(blocked: BlockedSender, *, by: User | None = None) -> None:
    with transaction.atomic():
        record("blocked_sender.deleted", obj=blocked, actor=by, detail={"pattern": blocked.pattern})
        blocked.delete()


def is_blocked(address: str) -> bool:
    """Whether mail from `address` is blocked, by the address itself or its domain (or a parent
    domain: blocking example.com blocks mail.example.com)."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    if not domain:
        return False
    parts = domain.split(".")
    candidates = [address] + [".".join(parts[i:]) for i in range(len(parts) - 1)]
    return BlockedSender.objects.filter(pattern__in=candidates).exists()


def is_quiet(ticket: Ticket) -> bool:
    """Whether nothing automatic may answer or announce this ticket (spam or a merged pointer)."""
    return ticket.status == Status.SPAM or ticket.merged_into_id is not None
