"""Customer-wait targets: how long a customer may wait for a first reply and for a resolution.

The targets speak about the customer's wait, never about an agent: a ticket knows when its
customer will have waited too long (`first_response_due_at`, `resolution_due_at`), nothing here
times or ranks the people answering.

Targets come from two settings (environment variables, README "Customer-wait targets"):
`SUPPORTDESK_FIRST_RESPONSE_TARGETS` and `SUPPORTDESK_RESOLUTION_TARGETS`, each a comma-separated
list of `key=duration` where key is a priority (`urgent`), a channel (`chat`) or both
(`chat:urgent`), and duration is minutes, hours or days (`30m`, `8h`, `2d`). The most specific key
wins: `channel:priority`, then `channel`, then `priority`, then `*`. When business hours are set
(hours/, through the `business_clock` lookup), a target counts open hours only (a Friday 16:00
email with an 8 h target is due Monday 16:00 on a 09:00-17:00 week); otherwise calendar hours.

The due times are stored on the ticket and kept by the ticket services in the same transaction as
the change that moves them (creation, a customer's message, an agent's public reply, a change of
priority, channel or status), so the inbox reads them as plain columns.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.checks import CheckMessage

from core import hooks
from tickets.models import Status, Ticket, TicketType

# Statuses in which nobody owes the customer anything more (no target runs).
DONE_STATUSES = frozenset({Status.SOLVED, Status.CLOSED, Status.SPAM})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd]?)\s*$")
_UNITS = {"m": 60, "h": 3600, "d": 86_400, "": 3600}


class TargetsError(ValueError):
    pass


def parse_targets(raw: str) -> dict[str, timedelta]:
    """`"urgent=1h, normal=8h, chat:urgent=15m"` → {"urgent": 1h, ...}; ValueError if malformed
    (settings call it at start-up, so a typo stops the server instead of silently ignoring it)."""
    targets: dict[str, timedelta] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        match = _DURATION.match(value)
        if not sep or not key.strip() or match is None:
            raise TargetsError(f"{item!r}: expected key=duration, like normal=8h or chat=30m")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        targets[key.strip().lower()] = timedelta(seconds=seconds)
    return targets


@dataclass(frozen=True)
class Targets:
    first_response: timedelta | None
    resolution: timedelta | None


def _pick(table: dict[str, timedelta], *, priority: str, channel: str) -> timedelta | None:
    for key in (f"{channel}:{priority}", channel, priority, "*"):
        if key in table:
            return table[key]
    return None


@functools.lru_cache(maxsize=8)
def _tables(first: str, resolution: str) -> tuple[dict[str, timedelta], dict[str, timedelta]]:
    return parse_targets(first), parse_targets(resolution)


def targets_for(*, priority: str, channel: str) -> Targets:
    first, resolution = _tables(
        settings.SUPPORTDESK_FIRST_RESPONSE_TARGETS, settings.SUPPORTDESK_RESOLUTION_TARGETS
    )
    return Targets(
        first_response=_pick(first, priority=priority, channel=channel),
        resolution=_pick(resolution, priority=priority, channel=channel),
    )


def due_times(
    *,
    created_at: datetime,
    priority: str,
    channel: str,
    clock: Clock | None = None,
) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for a customer who wrote at `created_at`."""
    targets = targets_for(priority=priority, channel=channel)
    if targets.first_response is None and targets.resolution is None:
        return None, None
    clock = clock or _batch_clock.get() or business_clock()
    return (
        None if targets.first_response is None else clock(created_at, targets.first_response),
        None if targets.resolution is None else clock(created_at, targets.resolution),
    )


Clock = Callable[[datetime, timedelta], datetime]


def _calendar(start: datetime, duration: timedelta) -> datetime:
    return start + duration


def business_clock() -> Clock:
    """Adds business hours when hours are set (hours/ answers the lookup), else calendar time."""
    return hooks.business_clock.ask() or _calendar


_batch_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar(
    "batch_clock", default=None
)


@contextlib.contextmanager
def one_hours_read() -> Iterator[None]:
    """Read the business hours once for a batch of tickets (the follow-up sweep's 500), not once
    per ticket."""
    read: list[Clock] = []

    def clock(start: datetime, duration: timedelta) -> datetime:
        if not read:  # read on first use: a sweep with nothing due reads nothing
            read.append(business_clock())
        return read[0](start, duration)

    token = _batch_clock.set(clock)
    try:
        yield
    finally:
        _batch_clock.reset(token)


WAIT_FIELDS = ["first_response_due_at", "resolution_due_at"]


def refresh_due_times(ticket: Ticket, *, clock: Clock | None = None) -> list[str]:
    """Set the ticket's due times from its state (in memory; the caller saves the fields
    returned, inside its transaction).

    - No target runs for a proactive care task (the shop reached out; no customer is waiting), or
      once the ticket is solved, closed or spam.
    - First response: due until an agent has answered publicly (`first_responded_at`).
    - Resolution: counted from the ticket's creation, until it is solved.
    """
    first_due: datetime | None = None
    resolution_due: datetime | None = None
    if ticket.type != TicketType.CARE and ticket.status not in DONE_STATUSES:
        first_due, resolution_due = due_times(
            created_at=ticket.created_at,
            priority=ticket.priority,
            channel=ticket.channel,
            clock=clock,
        )
        if ticket.first_responded_at is not None:
            first_due = None
    ticket.first_response_due_at = first_due
    ticket.resolution_due_at = resolution_due
    return WAIT_FIELDS


def overdue_at(ticket: Ticket) -> datetime | None:
    """The earliest instant the customer will have waited too long (None: no target runs)."""
    dues = [d for d in (ticket.first_response_due_at, ticket.resolution_due_at) if d is not None]
    return min(dues) if dues else None


def check_targets(**kwargs: object) -> list[CheckMessage]:
    """A Django system check: a malformed target setting stops `migrate`/`serve` with its reason
    instead of silently running no target."""
    from django.core import checks

    errors: list[CheckMessage] = []
    for name in ("SUPPORTDESK_FIRST_RESPONSE_TARGETS", "SUPPORTDESK_RESOLUTION_TARGETS"):
        try:
            parse_targets(getattr(settings, name))
        except TargetsError as exc:
            errors.append(checks.Error(f"{name}: {exc}", id="tickets.E001"))
    return errors
