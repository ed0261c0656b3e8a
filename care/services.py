"""Proactive care (scenario 6): find shipments and orders in trouble before the customer notices,
and open one outreach task (a ticket of type "care") per problem.

A problem has a stable key (`shipment:<id>`, `order:<id>:<problem>`) stored in the ticket's
unique `care_key`: the sweep skips keys that already have a ticket, and when two sweeps race
on the same key the database's unique constraint lets exactly one of them insert. A task, once
opened, is the agent's: the sweep marks its problem resolved when it goes away but never reopens,
closes or duplicates it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.models import User
from care.models import CareReason, CareTask
from customers.models import Order, OrderProblem, Shipment, ShipmentStatus
from livechat.services import online_agents
from tickets import services as ticket_services
from tickets.models import AuthorType, Channel, Priority, Ticket, TicketType
from wow_credits.models import GrantKind

log = logging.getLogger(__name__)

# Shipments in these states need nothing more from us.
FINISHED_SHIPMENTS = (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED, ShipmentStatus.RETURNED)
ORDER_REASONS = {
    OrderProblem.PAYMENT: CareReason.PAYMENT,
    OrderProblem.ADDRESS: CareReason.ADDRESS,
    OrderProblem.OTHER: CareReason.ORDER_OTHER,
}
SUBJECTS = {
    CareReason.PAST_PROMISED: "Your order {order} is running late",
    CareReason.FLAGGED_LATE: "Your order {order} is running late",
    CareReason.NO_SCAN: "Your order {order} seems stuck in transit",
    CareReason.PAYMENT: "About the payment for your order {order}",
    CareReason.ADDRESS: "About the delivery address of your order {order}",
    CareReason.ORDER_OTHER: "About your order {order}",
}


@dataclass(frozen=True)
class CareProblem:
    key: str
    reason: CareReason
    detail: str
    order: Order
    shipment: Shipment | None
    suggested_grant: GrantKind
    priority: Priority

    @property
    def subject(self) -> str:
        return SUBJECTS[self.reason].format(order=self.order.external_id)


def shipment_key(shipment_id: int) -> str:
    return f"shipment:{shipment_id}"


def order_key(order_id: int, problem: str) -> str:
    return f"order:{order_id}:{problem}"


def no_scan_window() -> timedelta:
    return timedelta(hours=settings.SUPPORTDESK_CARE_NO_SCAN_HOURS)


def _without_task(qs: QuerySet[Any], key: Concat) -> QuerySet[Any]:
    without: QuerySet[Any] = qs.annotate(care_key=key).exclude(
        Exists(Ticket.objects.filter(care_key=OuterRef("care_key")))
    )
    return without


def troubled_shipments(*, now: datetime, limit: int = 200) -> list[Shipment]:
    """Unfinished shipments past their promised date, flagged late by the shop, or in transit with
    no carrier scan within the window; only those without a care task yet (bounded)."""
    silent_since = now - no_scan_window()
    qs = (
        Shipment.objects.exclude(status__in=FINISHED_SHIPMENTS)
        .annotate(last_sign=Coalesce("last_scan_at", "created_at"))
        .filter(
            Q(promised_by__lt=now)
            | Q(status=ShipmentStatus.LATE)
            | Q(status=ShipmentStatus.IN_TRANSIT, last_sign__lt=silent_since)
        )
    )
    qs = _without_task(qs, Concat(Value("shipment:"), Cast("id", CharField())))
    return list(qs.select_related("order__customer").order_by("id")[:limit])


def troubled_orders(*, limit: int = 200) -> list[Order]:
    """Orders the shop reported a payment, address or other problem on, without a task yet."""
    qs = Order.objects.exclude(problem=OrderProblem.NONE)
    qs = _without_task(qs, Concat(Value("order:"), Cast("id", CharField()), Value(":"), "problem"))
    return list(qs.select_related("customer").order_by("id")[:limit])


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%b %-d, %H:%M %Z")


def shipment_problem(shipment: Shipment, *, now: datetime) -> CareProblem:
    parts = [f"Shipment {shipment.get_status_display().lower()}, {shipment.method}"]
    if shipment.carrier or shipment.tracking:
        parts.append(f"{shipment.carrier} {shipment.tracking}".strip())
    if shipment.promised_by:
        parts.append(f"promised by {_when(shipment.promised_by)}")
    if shipment.last_scan_at:
        parts.append(f"last carrier scan {timesince(shipment.last_scan_at, now)} ago")
    else:
        parts.append("no carrier scan yet")
    if shipment.status == ShipmentStatus.LATE:
        reason = CareReason.FLAGGED_LATE
    elif shipment.promised_by and shipment.promised_by < now:
        reason = CareReason.PAST_PROMISED
    else:
        reason = CareReason.NO_SCAN
    if reason == CareReason.NO_SCAN:
        # Silent for days: likely lost. A fresh pair overnight beats waiting on the carrier.
        suggestion = GrantKind.OVERNIGHT_RESHIP
    elif "overnight" in shipment.method.lower():
        suggestion = GrantKind.DISCOUNT_CODE
    else:
        suggestion = GrantKind.REROUTE_OVERNIGHT
    return CareProblem(
        key=shipment_key(shipment.pk),
        reason=reason,
        detail="; ".join(parts) + ".",
        order=shipment.order,
        shipment=shipment,
        suggested_grant=suggestion,
        priority=Priority.HIGH,
    )


def order_problem(order: Order) -> CareProblem:
    reason = ORDER_REASONS[OrderProblem(order.problem)]
    suggestion = {
        CareReason.ADDRESS: GrantKind.REROUTE_OVERNIGHT,
        CareReason.PAYMENT: GrantKind.DISCOUNT_CODE,
    }.get(reason, GrantKind.DISCOUNT_CODE)
    detail = (order.problem_detail or order.get_problem_display()).rstrip(". ")
    return CareProblem(
        key=order_key(order.pk, order.problem),
        reason=reason,
        detail=f"{detail} (order {order.external_id}, {order.total} {order.currency}).",
        order=order,
        shipment=None,
        suggested_grant=suggestion,
        priority=Priority.NORMAL,
    )


def find_problems(*, now: datetime | None = None, limit: int = 200) -> list[CareProblem]:
    """Every problem that has no care task yet: late or silent shipments, orders in trouble."""
    now = now or timezone.now()
    problems = [shipment_problem(s, now=now) for s in troubled_shipments(now=now, limit=limit)]
    problems += [order_problem(o) for o in troubled_orders(limit=limit)]
    return problems


def open_care_task(problem: CareProblem) -> Ticket | None:
    """Open the outreach ticket for `problem`, assigned round-robin; None when it already exists.

    Locking contract: none taken. The ticket and its CareTask commit together; the unique
    `care_key` decides a race between sweeps, and the loser's insert rolls back whole.
    """
    if Ticket.objects.filter(care_key=problem.key).exists():
        return None
    customer = problem.order.customer
    suggestion = problem.suggested_grant.label
    body = (
        f"Proactive care: {problem.reason.label.lower()}.\n{problem.detail}\n\n"
        f"Reach out to {customer.display_name} before they notice. "
        f"Suggested WOW: {suggestion}."
    )
    assignee = next_agent_round_robin(type=TicketType.CARE)
    try:
        with transaction.atomic():
            ticket, _ = ticket_services.create_ticket(
                ticket_services.NewTicket(
                    customer=customer,
                    subject=problem.subject,
                    body_text=body,
                    channel=Channel.EMAIL,
                    type=TicketType.CARE,
                    priority=problem.priority,
                    order_id=problem.order.pk,
                    care_key=problem.key,
                    assignee=assignee,
                    author_type=AuthorType.SYSTEM,
                )
            )
            CareTask.objects.create(
                ticket=ticket,
                reason=problem.reason,
                detail=problem.detail,
                order=problem.order,
                shipment=problem.shipment,
                suggested_grant=problem.suggested_grant,
            )
    except IntegrityError:
        if Ticket.objects.filter(care_key=problem.key).exists():
            return None  # another sweep opened it between our check and our insert
        raise
    return ticket


def mark_resolved_problems(*, now: datetime | None = None) -> int:
    """Note on open care tasks that their problem went away (delivered, cleared by the shop).

    Only `resolved_at` changes: the ticket stays as the agent left it, and a closed one stays closed.
    """
    now = now or timezone.now()
    unresolved = CareTask.objects.filter(resolved_at__isnull=True)
    count = (
        unresolved.filter(shipment__isnull=False)
        .filter(shipment__status__in=FINISHED_SHIPMENTS)
        .update(resolved_at=now)
    )
    for problem, reason in ORDER_REASONS.items():
        count += (
            unresolved.filter(reason=reason, order__isnull=False)
            .exclude(order__problem=problem)
            .update(resolved_at=now)
        )
    return count


def sweep_care(*, now: datetime | None = None, limit: int = 200) -> int:
    """One pass of proactive care; returns how many tasks it opened. Safe to run concurrently."""
    now = now or timezone.now()
    mark_resolved_problems(now=now)
    opened = 0
    for problem in find_problems(now=now, limit=limit):
        if open_care_task(problem) is not None:
            opened += 1
    if opened:
        log.info("Proactive care opened %d task(s)", opened)
    return opened


def next_agent_round_robin(*, type: TicketType | str) -> User | None:
    """The agent who should get the next ticket of `type` that nobody asked for (care tasks).

    Round-robin among the agents online now (chat presence), or, when nobody is online, among
    every active agent; trainees are left out (they shadow first). Stateless: the turn passes to
    the agent after whoever got the last ticket of this type, in id order. Two concurrent sweeps
    may pick the same agent once; that is harmless.
    """
    eligible = User.objects.filter(is_active=True, is_trainee=False)
    online = [p.user_id for p in online_agents() if p.status == "online"]
    ids = list(
        (eligible.filter(pk__in=online) if online else eligible)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )
    if not ids:
        return None
    last = (
        Ticket.objects.filter(type=type, assignee_id__in=ids)
        .order_by("-created_at", "-id")
        .values_list("assignee_id", flat=True)
        .first()
    )
    following = [pk for pk in ids if last is not None and pk > last]
    return User.objects.get(pk=following[0] if following else ids[0])
