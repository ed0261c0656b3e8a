"""The rules of granting, in one place.

One action per kind of grant (`refund`, `upgrade_to_vip`, ..., `give_coworker_bonus`, each taking
a `GrantRequest`) over one core (`_make`: idempotency, the shared checks, company limits, the
grant and its ledger row, the undo window); `grant(kind, ...)` picks the action for a kind named
at run time.

Locking contracts:
- granting: a refund locks the Order row (SELECT ... FOR UPDATE) before summing what was already
  refunded, so concurrent refunds on one order serialise and never exceed what was paid. A coworker
  bonus locks the giver's User row before summing the month's bonuses.
- `undo_grant` locks the grant; the sweep claims grants with SKIP LOCKED only once their undo window
  has closed (`execute_after == undo_until`), so an undo and an execution never both win.
- `execute_due` claims due grants, commits the claim (`executing` with a lease), executes through
  the commerce backend, then records the outcome. A grant whose lease ran out (a dead worker) is
  claimed again and re-executed with the same idempotency key; backends must make that a no-op.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation

from accounts.models import User
from audit.services import record
from core import hooks
from core.emails import render_email
from customers.models import Customer, Order
from customers.services import language_of
from mailer.services import build_email, queue_email
from wow_credits import limits, wording
from wow_credits.backends import ExecutionResult, get_backend
from wow_credits.errors import Conflict as Conflict  # re-exported: callers catch services.*
from wow_credits.errors import GrantError as GrantError
from wow_credits.ledger import bonuses_given_this_month, refundable, refunded_total
from wow_credits.models import (
    Celebration,
    CoreValue,
    DigestRun,
    Grant,
    GrantEvent,
    GrantKind,
    GrantStatus,
    Story,
)

log = logging.getLogger(__name__)

MONEY_KINDS = {GrantKind.REFUND, GrantKind.REBATE, GrantKind.COWORKER_BONUS}
CUSTOMER_KINDS = set(GrantKind) - {GrantKind.COWORKER_BONUS}
LEASE = timedelta(minutes=5)
BATCH_SIZE = 20


# --- settings (defaults in supportdesk/settings.py; read at call time so tests can change them) ---


def undo_seconds() -> int:
    return int(settings.SUPPORTDESK_UNDO_SECONDS)


def bonus_allowance() -> Decimal:
    return Decimal(str(settings.SUPPORTDESK_BONUS_ALLOWANCE))


def max_attempts() -> int:
    return int(settings.SUPPORTDESK_GRANT_MAX_ATTEMPTS)


def retry_base_seconds() -> float:
    return float(settings.SUPPORTDESK_GRANT_RETRY_SECONDS)


# --- ledger ------------------------------------------------------------------------------------


def _transition(
    grant: Grant,
    to: GrantStatus,
    *,
    actor: User | None = None,
    note: str = "",
    fields: tuple[str, ...] = (),
) -> None:
    """Change a grant's status and append the ledger row, in the caller's transaction."""
    before = grant.status
    grant.status = to
    grant.save(update_fields=["status", *fields])
    GrantEvent.objects.create(
        grant=grant, from_status=before, to_status=to, actor=actor, note=note[:2000]
    )
    if to == GrantStatus.EXECUTED:
        hooks.grant_changed.fire(grant=grant, change="executed")


# --- granting: one action per kind over one core --------------------------------------------------

Amount = Decimal | str | int | float | None


@dataclass(frozen=True, kw_only=True)
class GrantRequest:
    """What an agent asks for. The same agent and idempotency key with the same request (its
    `request_hash_for`) return the grant made the first time; with another request, Conflict."""

    by: User
    reason: str
    idempotency_key: str
    customer: Customer | None = None
    order: Order | None = None
    amount: Amount = None
    ticket_id: int | None = None
    chat_id: int | None = None
    recipient: User | None = None
    details: dict[str, Any] | None = None


class GrantAbout(TypedDict, total=False):
    """The optional fields of a GrantRequest, as keyword arguments of `grant()`."""

    customer: Customer | None
    order: Order | None
    amount: Amount
    ticket_id: int | None
    chat_id: int | None
    recipient: User | None
    details: dict[str, Any] | None


def request_hash_for(kind: GrantKind, request: GrantRequest) -> str:
    """The one fingerprint of a grant request (pages, API, commands alike): what was asked, as
    resolved, with the amount in cents, so `10`, `"10"` and `10.00` are one request."""
    payload = {
        "kind": kind.value,
        "customer": request.customer.pk if request.customer else None,
        "order": request.order.pk if request.order else None,
        "amount": _canonical_amount(request.amount),
        "reason": (request.reason or "").strip(),
        "ticket_id": request.ticket_id,
        "chat_id": request.chat_id,
        "recipient": request.recipient.pk if request.recipient else None,
        "details": request.details or {},
    }
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_amount(amount: Amount) -> str | None:
    if amount is None or amount == "":
        return None
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)  # refused later; its fingerprint only has to differ from valid ones
    if value.is_finite() and value == value.quantize(Decimal("0.01")):
        return str(value.quantize(Decimal("0.01")))
    return str(value)


def _parse_amount(amount: Amount) -> Decimal | None:
    if amount is None or amount == "":
        return None
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise GrantError("The amount must be a number", code="invalid_amount") from None
    if not value.is_finite():
        raise GrantError("The amount must be a number", code="invalid_amount")
    if value <= 0:
        raise GrantError("The amount must be more than zero", code="invalid_amount")
    if value != value.quantize(Decimal("0.01")):
        raise GrantError("The amount has at most two decimals", code="invalid_amount")
    return value


@dataclass(kw_only=True)
class _Draft:
    """A grant being made: the request as checked and completed by the core and the kind's rules
    (a refund without an amount gets what is left)."""

    kind: GrantKind
    request: GrantRequest
    key: str
    request_hash: str
    reason: str
    customer: Customer | None
    order: Order | None
    amount: Decimal | None
    details: dict[str, Any]

    @property
    def by(self) -> User:
        return self.request.by

    @property
    def currency(self) -> str:
        return self.order.currency if self.order is not None else "USD"


Check = Callable[[_Draft], None]


def _idempotency_key(raw: str) -> str:
    key = (raw or "").strip()
    if not key:
        raise GrantError(
            "An idempotency key is required", code="idempotency_key_required", status=400
        )
    if len(key) > 200:
        raise GrantError("The idempotency key is too long", code="invalid_idempotency_key")
    return key


def _draft(kind: GrantKind, request: GrantRequest, *, key: str, request_hash: str) -> _Draft:
    """What every kind checks: a reason, a well-formed amount, an order of the customer named (or
    the customer of the order), details that can execute."""
    reason = (request.reason or "").strip()
    if not reason:
        raise GrantError("A reason is required", code="reason_required")
    amount = _parse_amount(request.amount)
    customer, order = request.customer, request.order
    if order is not None:
        if customer is None:
            customer = order.customer
        elif order.customer_id != customer.pk:
            raise GrantError(
                "The order belongs to another customer", code="order_customer_mismatch"
            )
    details = limits.clean_details(kind, request.details if request.details is not None else {})
    return _Draft(
        kind=kind,
        request=request,
        key=key,
        request_hash=request_hash,
        reason=reason,
        customer=customer,
        order=order,
        amount=amount,
        details=details,
    )


def _make(
    kind: GrantKind,
    request: GrantRequest,
    *,
    checks: tuple[Check, ...],
    locked: Check | None = None,
) -> tuple[Grant, bool]:
    """The core every kind goes through: idempotency, the shared and the kind's checks (`checks`
    before the transaction, `locked` inside it, under the rows it locks), the company limits per
    customer, the grant row and its first ledger row, with the undo window open."""
    key = _idempotency_key(request.idempotency_key)
    request_hash = request_hash_for(kind, request)
    existing = _replay(request.by, key, request_hash)
    if existing is not None:
        return existing, False
    draft = _draft(kind, request, key=key, request_hash=request_hash)
    for check in checks:
        check(draft)
    try:
        with transaction.atomic():
            if locked is not None:
                locked(draft)
            if draft.customer is not None and kind in CUSTOMER_KINDS:
                _within_customer_limits(draft)
            created = _record_grant(draft)
    except IntegrityError:
        # Two requests with one key raced; the loser answers with the winner's grant.
        existing = _replay(request.by, key, request_hash)
        if existing is None:
            raise
        return existing, False
    return created, True


def _replay(by: User, key: str, request_hash: str) -> Grant | None:
    existing = Grant.objects.filter(agent=by, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_hash != request_hash:
        raise Conflict(
            "This idempotency key was used for another grant request",
            code="idempotency_key_reused",
        )
    return existing


def _within_customer_limits(draft: _Draft) -> None:
    """The company's limits per grant and per customer per period; the customer's row lock
    serialises concurrent grants to one customer."""
    assert draft.customer is not None
    Customer.objects.select_for_update().filter(pk=draft.customer.pk).first()
    limits.check(
        draft.kind, customer_id=draft.customer.pk, amount=draft.amount, currency=draft.currency
    )


def _record_grant(draft: _Draft) -> Grant:
    """The grant row (executed once its undo window closes), its ledger row, the audit record, the
    line in the chat and the `grant_changed` hook, in the caller's transaction."""
    now = timezone.now()
    undo_until = now + timedelta(seconds=undo_seconds())
    request = draft.request
    unverified_chat = chat_is_unverified(request.chat_id)
    created = Grant.objects.create(
        kind=draft.kind,
        agent=draft.by,
        customer=draft.customer,
        order=draft.order,
        recipient_user=request.recipient,
        ticket_id=request.ticket_id,
        chat_id=request.chat_id,
        unverified_chat=unverified_chat,
        amount=draft.amount,
        currency=draft.currency,
        reason=draft.reason,
        details=draft.details,
        idempotency_key=draft.key,
        request_hash=draft.request_hash,
        undo_until=undo_until,
        execute_after=undo_until,
        created_at=now,
    )
    GrantEvent.objects.create(
        grant=created,
        from_status="",
        to_status=GrantStatus.PENDING,
        actor=draft.by,
        note=draft.reason,
    )
    record(
        "grant.created",
        obj=created,
        actor=draft.by,
        detail={
            "kind": draft.kind.value,
            "amount": f"{draft.amount:.2f}" if draft.amount is not None else None,
            "currency": created.currency,
            "customer": draft.customer.pk if draft.customer else None,
            "order": draft.order.pk if draft.order else None,
            "chat": request.chat_id,
            "ticket": request.ticket_id,
            "unverified_chat": unverified_chat,
        },
    )
    _tell_chat(created, "created")
    hooks.grant_changed.fire(grant=created, change="created")
    return created


def chat_is_unverified(chat_id: int | None) -> bool:
    """True when `chat_id` names a chat whose visitor has not proven their email address."""
    if chat_id is None:
        return False
    from livechat.models import Conversation

    verified = Conversation.objects.filter(pk=chat_id).values_list("verified", flat=True).first()
    return verified is False


# The kinds' own rules.


def _needs_order(draft: _Draft) -> None:
    if draft.order is None:
        raise GrantError(f"A {draft.kind.label.lower()} needs an order", code="order_required")


def _needs_customer(draft: _Draft) -> None:
    if draft.customer is None:
        raise GrantError("A grant needs a customer", code="customer_required")


def _needs_amount(draft: _Draft) -> None:
    if draft.amount is None:
        raise GrantError("This grant needs an amount", code="amount_required")


def _needs_amount_or_percent(draft: _Draft) -> None:
    if draft.amount is None and not draft.details.get("percent"):
        raise GrantError("A discount code needs an amount or a percent", code="amount_required")


def _needs_coworker(draft: _Draft) -> None:
    recipient = draft.request.recipient
    if recipient is None:
        raise GrantError("A coworker bonus needs a coworker", code="recipient_required")
    if recipient.pk == draft.by.pk:
        raise GrantError("A bonus goes to a coworker, not yourself", code="self_bonus")


def _within_refundable(draft: _Draft) -> None:
    """Under the Order row's lock, so concurrent refunds on one order never exceed what was paid;
    no amount refunds all that is left."""
    assert draft.order is not None
    locked = Order.objects.select_for_update().get(pk=draft.order.pk)
    left = locked.paid_amount - refunded_total(locked)
    if draft.amount is None:
        draft.amount = left
    if draft.amount <= 0 or draft.amount > left:
        raise GrantError(
            f"At most {left} {locked.currency} is refundable on {locked}",
            code="amount_exceeds_refundable",
        )


def _within_allowance(draft: _Draft) -> None:
    """Under the giver's User row lock, so concurrent bonuses never pass the month's allowance."""
    assert draft.amount is not None
    User.objects.select_for_update().filter(pk=draft.by.pk).first()
    left = bonus_allowance() - bonuses_given_this_month(draft.by)
    if draft.amount > left:
        raise GrantError(
            f"Your bonus allowance left this month is {left}", code="allowance_exceeded"
        )


# The actions, one per kind. Each returns (grant, created).


def refund(request: GrantRequest) -> tuple[Grant, bool]:
    """Money back on an order: at most what is still refundable; no amount refunds what is left."""
    return _make(GrantKind.REFUND, request, checks=(_needs_order,), locked=_within_refundable)


def upgrade_to_vip(request: GrantRequest) -> tuple[Grant, bool]:
    """The customer becomes VIP at the shop."""
    return _make(GrantKind.VIP_UPGRADE, request, checks=(_needs_customer,))


def send_gift(request: GrantRequest) -> tuple[Grant, bool]:
    """A gift shipped to the customer."""
    return _make(GrantKind.GIFT, request, checks=(_needs_customer,))


def give_discount_code(request: GrantRequest) -> tuple[Grant, bool]:
    """A discount code worth an amount or a percent (details `percent`, `expires_in_days`)."""
    return _make(
        GrantKind.DISCOUNT_CODE, request, checks=(_needs_customer, _needs_amount_or_percent)
    )


def give_rebate(request: GrantRequest) -> tuple[Grant, bool]:
    """Money back that is not tied to an order's refundable amount."""
    return _make(GrantKind.REBATE, request, checks=(_needs_customer, _needs_amount))


def reship_overnight(request: GrantRequest) -> tuple[Grant, bool]:
    """The order shipped again, overnight."""
    return _make(GrantKind.OVERNIGHT_RESHIP, request, checks=(_needs_order,))


def reroute_overnight(request: GrantRequest) -> tuple[Grant, bool]:
    """The order's shipment rerouted and upgraded to overnight (details `address`)."""
    return _make(GrantKind.REROUTE_OVERNIGHT, request, checks=(_needs_order,))


def give_coworker_bonus(request: GrantRequest) -> tuple[Grant, bool]:
    """A bonus to a coworker (`recipient`), within the giver's monthly allowance."""
    return _make(
        GrantKind.COWORKER_BONUS,
        request,
        checks=(_needs_coworker, _needs_amount),
        locked=_within_allowance,
    )


ACTIONS: dict[GrantKind, Callable[[GrantRequest], tuple[Grant, bool]]] = {
    GrantKind.REFUND: refund,
    GrantKind.VIP_UPGRADE: upgrade_to_vip,
    GrantKind.GIFT: send_gift,
    GrantKind.DISCOUNT_CODE: give_discount_code,
    GrantKind.REBATE: give_rebate,
    GrantKind.OVERNIGHT_RESHIP: reship_overnight,
    GrantKind.REROUTE_OVERNIGHT: reroute_overnight,
    GrantKind.COWORKER_BONUS: give_coworker_bonus,
}


def grant(
    kind: GrantKind | str,
    *,
    by: User,
    reason: str,
    idempotency_key: str,
    **about: Unpack[GrantAbout],
) -> tuple[Grant, bool]:
    """Make a grant of a kind named at run time (the API, the dialog, commands): its action.

    Records it to execute after the undo window; returns (grant, created). The same agent and
    idempotency key with the same request return the existing grant; with a different request
    they raise Conflict. Every invariant is checked by the actions and nowhere else.
    """
    try:
        action = ACTIONS[GrantKind(kind)]
    except ValueError:
        raise GrantError(f"Unknown grant kind {kind!r}", code="invalid_kind") from None
    return action(GrantRequest(by=by, reason=reason, idempotency_key=idempotency_key, **about))


def undo_grant(target: Grant, *, by: User) -> Grant:
    """Cancel a grant inside its undo window (any agent may). After it, compensate with a new grant."""
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=target.pk)
        if locked.status == GrantStatus.UNDONE:
            return locked
        if locked.status != GrantStatus.PENDING or timezone.now() >= locked.undo_until:
            raise Conflict(
                "The undo window has closed; make a compensating grant instead",
                code="undo_window_closed",
            )
        _transition(locked, GrantStatus.UNDONE, actor=by, note=f"Undone by {by.display_name}")
        record("grant.undone", obj=locked, actor=by, detail={"granted_by": locked.agent_id})
        _tell_chat(locked, "undone")
    return locked


def retry_grant(target: Grant, *, by: User) -> Grant:
    """Queue a failed grant again. A refund is re-checked against what is still refundable."""
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=target.pk)
        if locked.status != GrantStatus.FAILED:
            raise Conflict("Only a failed grant can be retried", code="not_failed")
        if locked.kind == GrantKind.REFUND and locked.order_id is not None:
            order = Order.objects.select_for_update().get(pk=locked.order_id)
            if (locked.amount or 0) > refundable(order):
                raise GrantError(
                    "Retrying would refund more than was paid", code="amount_exceeds_refundable"
                )
        now = timezone.now()
        locked.attempts = 0
        locked.next_attempt_at = now
        locked.execute_after = now
        locked.last_error = ""
        _transition(
            locked,
            GrantStatus.PENDING,
            actor=by,
            note=f"Retry requested by {by.display_name}",
            fields=("attempts", "next_attempt_at", "execute_after", "last_error"),
        )
        record("grant.retried", obj=locked, actor=by)
    return locked


def guardrails(*, customer: Customer | None, order: Order | None = None) -> list[str]:
    """Notes shown beside the grant button. They inform; they never block."""
    notes: list[str] = []
    now = timezone.now()
    if customer is not None:
        recent = (
            Grant.objects.filter(customer=customer, created_at__gte=now - timedelta(days=30))
            .exclude(status=GrantStatus.UNDONE)
            .count()
        )
        if recent:
            notes.append(
                f"This customer received {recent} grant{'s' if recent != 1 else ''} in 30 days"
            )
    if order is not None:
        last = (
            Grant.objects.filter(order=order)
            .exclude(status=GrantStatus.UNDONE)
            .select_related("agent")
            .order_by("-created_at")
            .first()
        )
        if last is not None:
            minutes = int((now - last.created_at).total_seconds() // 60)
            when = (
                "just now" if minutes < 1 else f"{minutes} minute{'s' if minutes != 1 else ''} ago"
            )
            notes.append(f"{last.agent.display_name} granted on this order {when}")
        left = refundable(order)
        if left < order.paid_amount:
            notes.append(f"{left} {order.currency} of {order.paid_amount} is still refundable")
    return notes


# --- execution -------------------------------------------------------------------------------------


def _claim(limit: int) -> list[Grant]:
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Grant.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=GrantStatus.PENDING, execute_after__lte=now)
                & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                | Q(status=GrantStatus.EXECUTING, lease_until__lt=now)
            )
            .order_by("execute_after", "id")[:limit]
        )
        for row in rows:
            row.attempts += 1
            row.lease_until = now + LEASE
            note = f"Attempt {row.attempts}"
            if row.status == GrantStatus.EXECUTING:
                note += " (lease expired: re-run with the same idempotency key)"
            _transition(row, GrantStatus.EXECUTING, note=note, fields=("attempts", "lease_until"))
    return rows


def execute_due(*, limit: int = BATCH_SIZE, backend: Any = None) -> int:
    """Claim due grants and execute them; returns how many were executed."""
    backend = backend or get_backend()
    done = 0
    for row in _claim(limit):
        try:
            result = backend.execute(row)
        except Exception as exc:  # a backend bug must not lose the grant: it is retried
            log.exception("Grant %s execution raised", row.pk)
            result = ExecutionResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        if result.ok:
            done += _record_success(row, result)
        else:
            _record_failure(row, result.error)
    return done


def _record_success(row: Grant, result: Any) -> int:
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=row.pk)
        if locked.status != GrantStatus.EXECUTING:
            return 0  # another sweeper finished it after our lease ran out
        locked.executed_at = timezone.now()
        locked.external_ref = result.external_ref[:200]
        locked.outcome = result.summary
        locked.lease_until = None
        locked.last_error = ""
        _transition(
            locked,
            GrantStatus.EXECUTED,
            note=result.summary,
            fields=("executed_at", "external_ref", "outcome", "lease_until", "last_error"),
        )
        # Queued in the transition's transaction: the customer hears once per executed grant.
        _queue_confirmation(locked)
        _tell_chat(locked, "executed")
        if locked.kind == GrantKind.COWORKER_BONUS:
            _bonus_story(locked)
    return 1


def _record_failure(row: Grant, error: str) -> None:
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=row.pk)
        if locked.status != GrantStatus.EXECUTING:
            return
        locked.last_error = error[:2000]
        locked.lease_until = None
        if locked.attempts >= max_attempts():
            _transition(
                locked,
                GrantStatus.FAILED,
                note=f"Gave up after {locked.attempts} attempts: {error}",
                fields=("last_error", "lease_until"),
            )
            return
        delay = min(3600.0, retry_base_seconds() * 2 ** (locked.attempts - 1))
        locked.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        _transition(
            locked,
            GrantStatus.PENDING,
            note=f"Attempt {locked.attempts} failed, retry in {delay:.0f}s: {error}",
            fields=("last_error", "lease_until", "next_attempt_at"),
        )


def _bonus_story(row: Grant) -> None:
    """A coworker bonus is a WOW story too (scenario 8): it appears on the wall once paid."""
    recipient = row.recipient_user
    if recipient is None or row.stories.exists():
        return
    story = Story.objects.create(
        title=f"A bonus for {recipient.display_name}",
        story=row.reason,
        author=row.agent,
        subject_user=recipient,
    )
    story.grants.add(row)


def _tell_chat(row: Grant, event: str) -> None:
    """Show the customer in their chat what was made right: when a grant is made, executed (with
    the concrete facts: tracking, amount, VIP, code) or undone. One line per grant and event (the
    key makes a re-run a no-op), in the caller's transaction, so it is as durable as the grant."""
    if row.chat_id is None or row.kind == GrantKind.COWORKER_BONUS:
        return
    from livechat.services import ChatError, post_system_message

    if row.unverified_chat:
        # The visitor has not proven the address: whoever they are, they learn nothing of the
        # customer's orders, codes or tracking here; the customer hears by email.
        if event == "created":
            body = (
                f"{row.agent.display_name} arranged something for the owner of the email address "
                "you gave; it is confirmed by email to that address."
            )
        elif event == "executed":
            body = "Done: the confirmation went by email to the address you gave."
        else:
            body = "What was arranged by email was cancelled."
        try:
            post_system_message(row.chat_id, body, key=f"wow-{row.pk}-{event}")
        except ChatError:
            log.warning("Grant %s names chat %s, which does not exist", row.pk, row.chat_id)
        return
    if event == "created":
        body = f"{row.agent.display_name} arranged {wording.plan(row)}. We confirm here once it is done."
    elif event == "executed":
        body = f"Done: {row.outcome}"
    else:
        body = f"{wording.plan(row)[0].upper()}{wording.plan(row)[1:]} was cancelled."
    try:
        post_system_message(row.chat_id, body, key=f"wow-{row.pk}-{event}")
    except ChatError:
        # A grant may name a chat this desk does not hold (the API takes any id): the grant stands.
        log.warning("Grant %s names chat %s, which does not exist", row.pk, row.chat_id)


def _chat_ticket(row: Grant) -> Any:
    """The ticket a grant's chat was escalated to, if any: the email thread the customer has."""
    if row.chat_id is None:
        return None
    from livechat.models import Conversation

    conversation = Conversation.objects.filter(pk=row.chat_id).select_related("ticket").first()
    return conversation.ticket if conversation is not None else None


def _queue_confirmation(row: Grant) -> None:
    """Tell the customer what was made right, in the ticket's thread when there is one."""
    if row.kind == GrantKind.COWORKER_BONUS or row.customer is None:
        return
    to = row.customer.primary_email
    if not to:
        return
    from tickets.services import thread_email

    # The ticket's thread; for a chat, the thread of the ticket it was escalated to.
    ticket = row.ticket or _chat_ticket(row)
    language = language_of(row.customer)
    outcome = row.outcome
    # The local backend's own words are ours to translate; a shop backend's stay as it wrote.
    if language != settings.LANGUAGE_CODE and outcome == wording.english(
        wording.local_outcome, row
    ):
        with translation.override(language):
            outcome = wording.local_outcome(row) or outcome
    with translation.override(language):
        kind = row.get_kind_display().lower()
    email = render_email(
        "grant-confirmation",
        {
            "ticket": ticket,
            "chat_id": row.chat_id,
            "kind": kind,
            "customer": row.customer.display_name,
            "outcome": outcome,
            "agent": row.agent.display_name,
            "reason": row.reason,
            "company": settings.SUPPORTDESK_COMPANY_NAME,
        },
        language=language,
    )
    extra = {"Auto-Submitted": "auto-generated", "X-Supportdesk-Grant": str(row.pk)}
    if row.chat_id is not None:
        extra["X-Supportdesk-Chat"] = str(row.chat_id)
    if ticket is not None:
        queue_email(
            thread_email(
                ticket, to=to, subject=email.subject, body_text=email.body_text, extra_headers=extra
            )
        )
        return
    # A chat that stayed a chat: every confirmation of it shares one subject and one thread
    # root, so mail clients show them as one conversation.
    root = f"<chat-{row.chat_id}@{settings.SUPPORTDESK_MAIL_DOMAIN}>" if row.chat_id else ""
    queue_email(
        build_email(
            to=[to],
            subject=email.subject,
            body_text=email.body_text,
            in_reply_to=root,
            references=root,
            extra_headers=extra,
        )
    )


# --- stories --------------------------------------------------------------------------------------


def nominate_story(
    *,
    by: User,
    title: str,
    story: str,
    values: list[str] | None = None,
    ticket_id: int | None = None,
    chat_id: int | None = None,
    grant_ids: list[int] | None = None,
    subject_user: User | None = None,
) -> Story:
    title, story = (title or "").strip(), (story or "").strip()
    if not title or not story:
        raise GrantError("A story needs a title and a text", code="story_required")
    wanted = [v for v in (values or []) if v]
    found = list(CoreValue.objects.filter(Q(slug__in=wanted) | Q(name__in=wanted)))
    known = {v.slug for v in found} | {v.name for v in found}
    missing = [v for v in wanted if v not in known]
    if missing:
        raise GrantError(f"Unknown core values: {', '.join(missing)}", code="unknown_value")
    grants = list(Grant.objects.filter(pk__in=grant_ids or []))
    if len(grants) != len(set(grant_ids or [])):
        raise GrantError("Unknown grant ids", code="unknown_grant")
    if (
        subject_user is None
        and len({g.agent_id for g in grants}) == 1
        and grants[0].agent_id != by.pk
    ):
        subject_user = grants[0].agent
    if subject_user is None:
        bonus = next((g for g in grants if g.kind == GrantKind.COWORKER_BONUS), None)
        if bonus is not None:
            subject_user = bonus.recipient_user
    with transaction.atomic():
        created = Story.objects.create(
            title=title[:200],
            story=story,
            author=by,
            subject_user=subject_user,
            ticket_id=ticket_id,
            chat_id=chat_id,
        )
        created.values.set(found)
        created.grants.set(grants)
        record("story.nominated", obj=created, actor=by, detail={"grants": [g.pk for g in grants]})
        hooks.story_nominated.fire(story=created)
    return created


def send_monthly_digest(*, now: datetime | None = None, top: int = 5) -> int:
    """Email everyone last month's most celebrated stories, once per month (a DigestRun row)."""
    now = timezone.localtime(now or timezone.now())
    this_month = now.date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    start = timezone.make_aware(datetime.combine(last_month, time.min))
    end = timezone.make_aware(datetime.combine(this_month, time.min))
    with transaction.atomic():
        _, created = DigestRun.objects.get_or_create(month=last_month)
        if not created:
            return 0
        stories = list(
            Story.objects.filter(created_at__gte=start, created_at__lt=end)
            .select_related("author", "subject_user")
            .annotate(n=Count("celebrations"))
            .order_by("-n", "-id")[:top]
        )
        if not stories:
            return 0
        context = {
            "month": last_month,  # the template names it in the reader's language
            "stories": [
                {
                    "title": story.title,
                    "who": (story.subject_user or story.author).display_name,
                    "celebrations": story.n,
                    "text": story.story[:300],
                }
                for story in stories
            ],
            "site_url": settings.SITE_URL,
        }
        sent = 0
        emails: dict[str, Any] = {}  # rendered once per language (each agent's own)
        for address, language in User.objects.filter(is_active=True).values_list(
            "email", "language"
        ):
            if language not in emails:
                emails[language] = render_email("wow-digest", context, language=language)
            email = emails[language]
            queue_email(
                build_email(
                    to=[address],
                    subject=email.subject,
                    body_text=email.body_text,
                    extra_headers={"Auto-Submitted": "auto-generated"},
                )
            )
            sent += 1
    return sent


def celebrate(story: Story, *, by: User) -> int:
    """Celebrate once per person; repeating changes nothing. Returns the live count."""
    try:
        with transaction.atomic():
            Celebration.objects.get_or_create(story=story, user=by)
    except IntegrityError:
        pass  # a concurrent double click: the first one counted
    return Celebration.objects.filter(story=story).count()


def move_customer_grants(*, source_id: int, into_id: int) -> None:
    """The `customer_merged` receiver: the merged customer's grants move to the one kept."""
    Grant.objects.filter(customer_id=source_id).update(customer_id=into_id)
