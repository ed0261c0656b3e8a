"""Customers and the built-in commerce data: find people by address, upsert orders from shops."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import diff, record
from core import hooks, languages
from core.merging import MergeRefused, lock_pair, survivor
from customers.models import (
    Customer,
    CustomerEmail,
    CustomerKind,
    IntegrationToken,
    Order,
    OrderItem,
    OrderProblem,
    Shipment,
)


class CustomerError(ValueError):
    """A change that cannot be made, with a code for the API."""

    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


def normalize_email(address: str) -> str:
    return address.strip().lower()


def is_employee_address(address: str) -> bool:
    """True when `address` is at one of SUPPORTDESK_EMPLOYEE_DOMAINS (or a subdomain of one)."""
    domain = normalize_email(address).rpartition("@")[2]
    if not domain:
        return False
    return any(
        domain == known or domain.endswith("." + known)
        for known in settings.SUPPORTDESK_EMPLOYEE_DOMAINS
    )


def customer_for_email(
    address: str,
    *,
    name: str = "",
    kind: CustomerKind | str | None = None,
    language: str = "",
) -> Customer:
    """The person who owns `address`, created on first contact. Safe under concurrent first contacts.

    A new contact's kind is `kind` when given; otherwise an employee when the address is at one of
    the company's domains, else a customer. An existing contact's kind is never changed here.
    `language`: the language they just used with us (widget, contact form, email header), when
    known; remembered (`remember_language`) so every later email to them is written in it.
    """
    address = normalize_email(address)
    if kind is None:
        kind = CustomerKind.EMPLOYEE if is_employee_address(address) else CustomerKind.CUSTOMER
    existing = CustomerEmail.objects.select_related("customer").filter(address=address).first()
    if existing is not None:
        customer = existing.customer
        if name and not customer.name:
            customer.name = name[:200]
            customer.save(update_fields=["name"])
        customer = survivor(customer)
        remember_language(customer, language)
        return customer
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                name=name[:200], kind=kind, language=languages.supported(language)
            )
            CustomerEmail.objects.create(customer=customer, address=address, is_primary=True)
            return customer
    except IntegrityError:
        # Another request created the same address between our read and write.
        customer = survivor(CustomerEmail.objects.get(address=address).customer)
        remember_language(customer, language)
        return customer


def remember_language(customer: Customer, language: str) -> bool:
    """Store the language `customer` last used with us (one of settings.LANGUAGES); an unknown or
    empty code changes nothing. True when it changed."""
    code = languages.supported(language)
    if not code or customer.language == code:
        return False
    Customer.objects.filter(pk=customer.pk).update(language=code)
    customer.language = code
    return True


def language_of(customer: Customer | None) -> str:
    """The language to write to `customer` in: their remembered one, else English."""
    return languages.or_default(customer.language if customer is not None else "")


def update_customer(
    customer: Customer,
    *,
    kind: CustomerKind | str | None = None,
    name: str | None = None,
) -> Customer:
    """An agent reclassifies a contact (a vendor, a candidate, an employee) or fixes their name.

    The tier is not changed here: a VIP upgrade is a WOW grant, recorded in the ledger.
    """
    changed: list[str] = []
    if kind is not None:
        if kind not in CustomerKind.values:
            raise CustomerError(f"Unknown contact kind {kind!r}", code="invalid_kind")
        customer.kind = CustomerKind(kind)
        changed.append("kind")
    if name is not None:
        customer.name = name.strip()[:200]
        changed.append("name")
    if changed:
        before: Mapping[str, Any] = (
            Customer.objects.filter(pk=customer.pk).values("kind").first() or {}
        )
        with transaction.atomic():
            customer.save(update_fields=changed)
            # Names are personal data and would outlive an erasure here: only the fact is kept.
            changes: dict[str, tuple[object, object]] = {}
            if "kind" in changed:
                changes["kind"] = (before.get("kind"), customer.kind)
            if "name" in changed:
                changes["name"] = ("[personal]", "[personal]")
            record("customer.updated", obj=customer, changes=changes)
    return customer


def add_email(customer: Customer, address: str) -> CustomerEmail:
    return CustomerEmail.objects.create(customer=customer, address=normalize_email(address))


def merge_customers(source: Customer, *, into: Customer) -> Customer:
    """Move everything of `source` onto `into`; `source` stays as a pointer so old links resolve.

    Emails, orders and tickets move here; the rows of apps above this one (chats, grants, CSAT
    surveys, discount codes) move through the model's relations, so this app imports none of
    them and the grant guardrails count the merged history. Refused (CustomerError): into itself
    (`merge_into_self`), an already merged contact (`already_merged`), into a merged contact
    (`target_merged`, or `merge_cycle` when its pointers lead back). Locks both rows, lower id
    first."""
    with transaction.atomic():
        try:
            source, into = lock_pair(source, into, noun="Contact")
        except MergeRefused as refused:
            raise CustomerError(str(refused), code=refused.code) from None
        CustomerEmail.objects.filter(customer=source).update(customer=into, is_primary=False)
        Order.objects.filter(customer=source).update(customer=into)
        # Tickets, chats and grants: each app moves its own rows, in this transaction.
        hooks.customer_merged.fire(source_id=source.pk, into_id=into.pk)
        if source.tier == "vip":
            into.tier = "vip"
        into.name = into.name or source.name
        into.notes = "\n".join(n for n in (into.notes, source.notes) if n)
        into.save(update_fields=["tier", "name", "notes"])
        source.merged_into = into
        source.save(update_fields=["merged_into"])
        record("customer.merged", obj=source, detail={"into": into.pk})
    return into


@dataclass(frozen=True)
class ItemInput:
    name: str
    quantity: int = 1
    price: Decimal = Decimal("0")
    sku: str = ""


@dataclass(frozen=True)
class ShipmentInput:
    method: str = "standard"
    address: str = ""
    carrier: str = ""
    tracking: str = ""
    status: str = "pending"
    promised_by: datetime | None = None
    last_scan_at: datetime | None = None


def upsert_order(
    *,
    external_id: str,
    customer_email: str,
    customer_name: str = "",
    items: list[ItemInput],
    total: Decimal,
    currency: str,
    status: str,
    shipping: ShipmentInput | None,
    placed_at: datetime | None,
    problem: OrderProblem | str = OrderProblem.NONE,
    problem_detail: str = "",
) -> tuple[Order, bool]:
    """Create or replace an order by the shop's id. Items are replaced; the first shipment is updated.

    Shipments created by us (reships) are left alone: the shop's payload describes its own shipment.
    A `problem` (payment, address, other) or a shipment with status "late" is what the care sweep
    turns into an outreach task.
    """
    if problem not in OrderProblem.values:
        raise CustomerError(f"Unknown order problem {problem!r}", code="invalid_problem")
    customer = customer_for_email(customer_email, name=customer_name)
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(external_id=external_id).first()
        created = order is None
        if order is None:
            order = Order(external_id=external_id)
        before = {
            "customer": order.customer_id,
            "total": order.total,
            "currency": order.currency,
            "status": order.status,
        }
        order.customer = customer
        order.total = total
        order.currency = currency.upper()
        order.status = status
        order.problem = OrderProblem(problem)
        order.problem_detail = problem_detail.strip()[:500]
        if placed_at is not None:
            order.placed_at = placed_at
        order.save()
        order.items.all().delete()
        OrderItem.objects.bulk_create(
            OrderItem(order=order, name=i.name, quantity=i.quantity, price=i.price, sku=i.sku)
            for i in items
        )
        if shipping is not None:
            shipment = order.shipments.order_by("created_at", "id").first() or Shipment(order=order)
            for field in (
                "method",
                "address",
                "carrier",
                "tracking",
                "status",
                "promised_by",
                "last_scan_at",
            ):
                setattr(shipment, field, getattr(shipping, field))
            shipment.save()
        after = {
            "customer": order.customer_id,
            "total": order.total,
            "currency": order.currency,
            "status": order.status,
        }
        record(
            "order.created" if created else "order.synced",
            obj=order,
            changes=diff({} if created else before, after),
            detail={"external_id": external_id},
        )
    return order, created


# --- the shop's integration tokens ------------------------------------------------------------


def issue_shop_token(name: str) -> tuple[IntegrationToken, str]:
    """A new integration token for the shop's sync; returns the row and the raw token (shown once)."""
    name = name.strip()[:100]
    if not name:
        raise CustomerError("A shop token needs a name", code="name_required")
    raw = IntegrationToken.generate()
    with transaction.atomic():
        token = IntegrationToken.objects.create(
            name=name, digest=IntegrationToken.hash(raw), prefix=raw[:12]
        )
        record("shop_token.created", obj=token, detail={"name": name, "prefix": token.prefix})
    return token, raw


def revoke_shop_token(token: IntegrationToken) -> None:
    with transaction.atomic():
        IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record("shop_token.revoked", obj=token, detail={"name": token.name})


def shop_for_token(raw: str) -> IntegrationToken | None:
    """The live integration token `raw` names, or None (a person's token is never one)."""
    if not raw or len(raw) > 200 or not raw.startswith(IntegrationToken.PREFIX):
        return None
    token = IntegrationToken.objects.filter(
        digest=IntegrationToken.hash(raw), revoked_at__isnull=True
    ).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
