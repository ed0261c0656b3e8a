"""Company limits on grants, and the shape of a grant's details: checked when a grant is made.

Limits are invariants like "never refund more than was paid", not approvals: every agent may grant
up to them without asking anyone, and above them the answer is a clear 422. Each kind has, in
settings (SUPPORTDESK_GRANT_LIMIT_<KIND>, SUPPORTDESK_GRANT_LIMIT_DAYS):
- a maximum amount per grant (kinds with an amount),
- a maximum total amount per customer per period,
- a maximum number of grants of that kind per customer per period.
Undone grants do not count; pending, executing and executed ones do. The caller holds the
customer's row lock (SELECT ... FOR UPDATE), so concurrent grants to one customer serialise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from wow_credits.errors import GrantError

MAX_DETAILS_BYTES = 4000
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True)
class KindLimit:
    kind: str
    label: str
    per_grant: Decimal | None  # None: the kind has no amount
    per_customer: Decimal | None
    count: int


def period_days() -> int:
    return int(settings.SUPPORTDESK_GRANT_LIMIT_DAYS)


def max_percent() -> int:
    return int(settings.SUPPORTDESK_GRANT_MAX_PERCENT)


def limit_for(kind: str) -> KindLimit | None:
    from wow_credits.models import GrantKind

    raw = settings.SUPPORTDESK_GRANT_LIMITS.get(str(kind))
    if raw is None:
        return None
    per_grant, per_customer, count = raw
    money = Decimal(per_grant) > 0 or Decimal(per_customer) > 0
    return KindLimit(
        kind=str(kind),
        label=GrantKind(kind).label,
        per_grant=Decimal(per_grant) if money else None,
        per_customer=Decimal(per_customer) if money else None,
        count=int(count),
    )


def all_limits() -> list[KindLimit]:
    return [limit for kind in settings.SUPPORTDESK_GRANT_LIMITS if (limit := limit_for(kind))]


def describe(limit: KindLimit, currency: str = "") -> str:
    unit = f" {currency}" if currency else ""
    days = period_days()
    parts = []
    if limit.per_grant is not None:
        parts.append(f"up to {limit.per_grant}{unit} per grant")
    if limit.per_customer is not None:
        parts.append(f"{limit.per_customer}{unit} per customer in {days} days")
    parts.append(f"{limit.count} per customer in {days} days")
    return f"{limit.label}: " + ", ".join(parts)


def check(kind: str, *, customer_id: int | None, amount: Decimal | None, currency: str) -> None:
    """Raise GrantError(422, limit_exceeded) when this grant would pass a company limit."""
    from wow_credits.models import Grant, GrantStatus

    limit = limit_for(kind)
    if limit is None:
        return
    if limit.per_grant is not None and amount is not None and amount > limit.per_grant:
        raise GrantError(
            f"The company limit for a {limit.label.lower()} is {limit.per_grant} {currency} "
            f"per grant",
            code="limit_exceeded",
        )
    if customer_id is None:
        return
    since = timezone.now() - timedelta(days=period_days())
    given = (
        Grant.objects.filter(customer_id=customer_id, kind=kind, created_at__gte=since)
        .exclude(status=GrantStatus.UNDONE)
        .aggregate(n=Count("id"), total=Sum("amount"))
    )
    if given["n"] + 1 > limit.count:
        raise GrantError(
            f"This customer already received {given['n']} {limit.label.lower()} grant"
            f"{'s' if given['n'] != 1 else ''} in {period_days()} days; the company limit is "
            f"{limit.count}",
            code="limit_exceeded",
        )
    if limit.per_customer is not None and amount is not None:
        total = (given["total"] or Decimal("0")) + amount
        if total > limit.per_customer:
            left = max(Decimal("0"), limit.per_customer - (given["total"] or Decimal("0")))
            raise GrantError(
                f"The company limit for {limit.label.lower()}s is {limit.per_customer} {currency} "
                f"per customer in {period_days()} days; {left} {currency} is left for this customer",
                code="limit_exceeded",
            )


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level + 1)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level + 1)
    return level


def clean_details(kind: str, details: dict[str, Any]) -> dict[str, Any]:
    """Validate a grant's details at creation (not at execution): 422 for what cannot execute."""
    if not isinstance(details, dict):
        raise GrantError("details must be an object", code="invalid_details")
    try:
        encoded = json.dumps(details)
    except (TypeError, ValueError):
        raise GrantError("details must be plain JSON", code="invalid_details") from None
    if len(encoded) > MAX_DETAILS_BYTES or _depth(details) > 3:
        raise GrantError("details are too large or too deeply nested", code="invalid_details")
    clean = dict(details)
    if "expires_in_days" in clean:
        days = clean["expires_in_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
            raise GrantError(
                f"expires_in_days is a whole number of days from 1 to {MAX_EXPIRY_DAYS}",
                code="invalid_expires_in_days",
            )
    if "percent" in clean and clean["percent"] is not None:
        percent = clean["percent"]
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent <= 100:
            raise GrantError("The percent is between 1 and 100", code="invalid_percent")
        if percent > max_percent():
            raise GrantError(
                f"The company limit for a discount code is {max_percent()}%",
                code="limit_exceeded",
            )
    if "address" in clean and clean["address"] is not None:
        address = clean["address"]
        if not isinstance(address, str) or len(address) > 2000:
            raise GrantError("address is text of at most 2000 characters", code="invalid_address")
        clean["address"] = address.strip()
    return clean
