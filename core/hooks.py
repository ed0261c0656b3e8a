"""Named domain hooks: an app says that something happened, the apps above it react.

An app low in the graph (tickets, livechat, customers) must not import the apps that react to it
(csat asks for a rating when a ticket is solved; team counts an agent's console time). So the
low app fires a named hook and each reacting app registers a receiver in its
`AppConfig.ready()`, the way sweeps are registered:

    # csat/apps.py
    def ready(self) -> None:
        from core import hooks
        from csat import services

        hooks.ticket_solved.register(services.request_for_ticket_id)

    # tickets/services.py
    hooks.ticket_solved.fire_on_commit(ticket_id=ticket.pk)

Every hook is declared here with its payload (keyword arguments only), so `fire` and every
receiver are checked against one signature. Two ways to fire:
- `fire(...)`: now, inside the caller's transaction; a receiver's error propagates (use it when
  the reaction is part of the change, e.g. moving rows on a customer merge).
- `fire_on_commit(...)`: after the transaction commits, each receiver on its own and robust (a
  failing receiver is logged and neither undoes the change nor stops the other receivers).

This is the one mechanism for domain events: no Django signals between apps.

Receivers run in registration order (INSTALLED_APPS order); registering the same function twice
registers it once.

A `Lookup` is the read side: a low app's page or JSON shows something an app above it owns (the
ticket JSON carries the customer's CSAT rating). The low app declares the field and asks; the
owning app answers (one answer per lookup; None while no app answers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from django.db import transaction

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[P]):
    """One named hook; `signature` is a function that only documents the payload."""

    def __init__(self, name: str, signature: Callable[P, None]) -> None:
        self.name = name
        self.__doc__ = signature.__doc__
        self._receivers: list[Callable[P, None]] = []

    def register(self, receiver: Callable[P, None]) -> Callable[P, None]:
        """Add `receiver` (usable as a decorator); call from `AppConfig.ready()`."""
        if not any(_same(receiver, known) for known in self._receivers):
            self._receivers.append(receiver)
        return receiver

    def unregister(self, receiver: Callable[P, None]) -> None:
        self._receivers = [r for r in self._receivers if not _same(r, receiver)]

    @property
    def receivers(self) -> list[Callable[P, None]]:
        return list(self._receivers)

    def fire(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every receiver now; an error propagates to the caller (and its transaction)."""
        for receiver in self._receivers:
            receiver(*args, **kwargs)

    def fire_on_commit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every receiver once the current transaction commits (at once outside one); each
        receiver runs on its own, and a failing one is logged, never raised."""
        for receiver in self._receivers:
            transaction.on_commit(_bound(self.name, receiver, args, kwargs), robust=True)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receivers>"


class Lookup(Generic[P, R]):
    """One named question; `signature` documents the arguments and the answer's type."""

    def __init__(self, name: str, signature: Callable[P, R]) -> None:
        self.name = name
        self.__doc__ = signature.__doc__
        self._answer: Callable[P, R] | None = None

    def register(self, answer: Callable[P, R]) -> Callable[P, R]:
        """Set the one answer (call from `AppConfig.ready()`); a second, different one is a bug."""
        if self._answer is not None and not _same(self._answer, answer):
            raise RuntimeError(f"Lookup {self.name} already answered by {self._answer!r}")
        self._answer = answer
        return answer

    def ask(self, *args: P.args, **kwargs: P.kwargs) -> R | None:
        return None if self._answer is None else self._answer(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Lookup {self.name}: {'answered' if self._answer else 'unanswered'}>"


def _same(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    return a is b or (
        getattr(a, "__module__", None) == getattr(b, "__module__", None)
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
        and getattr(a, "__qualname__", "<lambda>") != "<lambda>"
    )


def _bound(
    name: str, receiver: Callable[..., None], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Callable[[], None]:
    def call() -> None:
        log.debug("hook %s -> %s", name, getattr(receiver, "__qualname__", receiver))
        receiver(*args, **kwargs)

    return call


# The hooks. Each signature names the payload; the docstring says when it fires and how.


def _ticket_solved(*, ticket_id: int) -> None:
    """A ticket became solved (not on a re-solve). Fired after commit by tickets.services."""


def _chat_ended(*, conversation_id: int) -> None:
    """A chat ended (once). Fired after commit by livechat.services.end_chat."""


def _customer_merged(*, source_id: int, into_id: int) -> None:
    """Customer `source_id` is being merged into `into_id`: move your rows that point at the
    source onto `into_id`. Fired inside the merge's transaction (customers.services)."""


def _agent_active(*, user_id: int, source: str, visible: bool, idle_seconds: int | None) -> None:
    """An agent's socket or page says they are at work (`source`: "console" or "page"). Fired
    inline by livechat's presence heartbeat; team counts it toward support hours."""


def _chat_waiting(*, conversation_id: int) -> None:
    """A chat waits for an agent with nobody assigned (its visitor's first line, a transfer to a
    team, a re-queue). Fired after commit by livechat.services; livechat's routing offers it."""


def _chat_capacity_changed(*, user_id: int) -> None:
    """An agent may take more chats than before (capacity raised, added to a team). Fired after
    commit by teams.services; livechat's routing offers waiting chats."""


def _customer_wrote_in(*, ticket_id: int, message_id: int, no_auto_answer: str) -> None:
    """A customer opened a ticket by writing in (email, IMAP mailbox, /support/new, the widget's
    offline form). `no_auto_answer`: why nothing automatic may answer the sender ("" when an
    acknowledgement may go out), e.g. "Precedence: bulk". Fired after commit by
    tickets.services.create_ticket; hours acknowledges out-of-hours mail."""


def _ticket_created(*, ticket: Any) -> None:
    """A ticket was opened. Fired inside the creating transaction by tickets.services, so a
    receiver's rows (webhooks' outbox) commit or roll back with the ticket."""


def _ticket_updated(*, ticket: Any, change: str, by: Any) -> None:
    """A ticket changed (`change`: "updated", "tags", "spam", "not_spam", "merged", ...; `by`: the
    User or None). Fired inside the change's transaction by tickets."""


def _message_created(*, message: Any) -> None:
    """A message was added to a ticket. Fired inside its transaction by tickets.services."""


def _grant_changed(*, grant: Any, change: str) -> None:
    """A WOW grant was made (`change="created"`) or executed (`"executed"`). Fired inside the
    change's transaction by wow_credits.services."""


def _chat_started(*, conversation: Any, agents_online: bool) -> None:
    """A chat started: its visitor's first line put it in the queue (`agents_online`: someone
    online and not away right now). Fired inside the line's transaction by livechat.services."""


def _chat_ending(*, conversation: Any, by: Any) -> None:
    """A chat is being ended (`by`: the agent, or None for the visitor). Fired inside the ending
    transaction by livechat.services (webhooks' outbox); `chat_ended` follows after commit."""


def _story_nominated(*, story: Any) -> None:
    """A WOW story was nominated by its author. Fired inside its transaction by wow_credits."""


def _survey_rated(*, survey: Any) -> None:
    """A CSAT survey was rated or re-rated. Fired inside the rating's transaction by csat."""


ticket_solved = Hook("ticket_solved", _ticket_solved)
chat_ended = Hook("chat_ended", _chat_ended)
customer_merged = Hook("customer_merged", _customer_merged)
agent_active = Hook("agent_active", _agent_active)
chat_waiting = Hook("chat_waiting", _chat_waiting)
chat_capacity_changed = Hook("chat_capacity_changed", _chat_capacity_changed)
customer_wrote_in = Hook("customer_wrote_in", _customer_wrote_in)
ticket_created = Hook("ticket_created", _ticket_created)
ticket_updated = Hook("ticket_updated", _ticket_updated)
message_created = Hook("message_created", _message_created)
grant_changed = Hook("grant_changed", _grant_changed)
survey_rated = Hook("survey_rated", _survey_rated)
chat_started = Hook("chat_started", _chat_started)
chat_ending = Hook("chat_ending", _chat_ending)
story_nominated = Hook("story_nominated", _story_nominated)


# The lookups. Models of the asking app are typed Any: core names no app.


def _ticket_csat(*, ticket: Any) -> dict[str, Any] | None:
    """The customer's rating of a ticket, as the ticket JSON's `csat` (csat answers)."""


def _chat_csat(*, conversation: Any) -> dict[str, Any] | None:
    """The visitor's rating of a chat, as the chat JSON's `csat` (csat answers)."""


def _ticket_care(*, ticket: Any) -> dict[str, Any] | None:
    """The problem behind a care ticket, as the ticket JSON's `care` (care answers)."""


def _next_business_morning(*, team_id: int | None = None) -> Any:
    """The aware datetime of the first opening after today (follow-ups and care outreach set to
    "next business morning"); hours answers, with the team's hours when it has its own."""


def _business_clock() -> Any:
    """A function (start, duration) -> the aware datetime `duration` of business hours after
    `start`, over the hours as they are now (customer-wait targets; hours answers; unanswered:
    calendar time)."""


ticket_csat = Lookup("ticket_csat", _ticket_csat)
chat_csat = Lookup("chat_csat", _chat_csat)
ticket_care = Lookup("ticket_care", _ticket_care)
next_business_morning = Lookup("next_business_morning", _next_business_morning)
business_clock = Lookup("business_clock", _business_clock)
