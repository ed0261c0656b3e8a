"""Sums over the grant ledger: what an order has had refunded, what an agent has given in
bonuses this month. Read by the grant rules (services) and by the backends that execute grants."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from customers.models import Order
from wow_credits.models import Grant, GrantKind, GrantStatus

# Grants that count against limits and sums: made and not undone or failed.
COUNTED = (GrantStatus.PENDING, GrantStatus.EXECUTING, GrantStatus.EXECUTED)


def refunded_total(order: Order) -> Decimal:
    total = Grant.objects.filter(order=order, kind=GrantKind.REFUND, status__in=COUNTED).aggregate(
        s=Sum("amount")
    )["s"]
    return total or Decimal("0")


def refunded_executed(order: Order) -> Decimal:
    total = Grant.objects.filter(
        order=order, kind=GrantKind.REFUND, status=GrantStatus.EXECUTED
    ).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")


def refundable(order: Order) -> Decimal:
    return max(Decimal("0"), order.paid_amount - refunded_total(order))


def bonuses_given_this_month(user: User) -> Decimal:
    start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = Grant.objects.filter(
        agent=user,
        kind=GrantKind.COWORKER_BONUS,
        status__in=COUNTED,
        created_at__gte=start,
    ).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")
