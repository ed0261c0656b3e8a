"""Orders and customers: shops sync their orders; agents read a customer's whole picture."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from accounts.api_auth import AgentSession, BearerToken
from audit.context import set_actor
from core.api import ApiError
from customers import services
from customers.models import (
    Customer,
    CustomerKind,
    IntegrationToken,
    Order,
    OrderProblem,
    Shipment,
)

router = Router(tags=["customers"])


class CustomerIn(Schema):
    email: str = Field(..., max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field("", max_length=200)


class ItemIn(Schema):
    name: str = Field(..., max_length=200)
    quantity: int = Field(1, ge=1, le=100_000)
    price: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    sku: str = Field("", max_length=100)


class ShippingIn(Schema):
    method: str = Field("standard", max_length=32)
    address: str = Field("", max_length=2000)
    carrier: str = Field("", max_length=64)
    tracking: str = Field("", max_length=100)
    status: str = Field(
        "pending", pattern="^(pending|in_transit|delivered|late|returned|cancelled)$"
    )
    promised_by: datetime | None = None
    last_scan_at: datetime | None = None


class OrderIn(Schema):
    external_id: str = Field(..., min_length=1, max_length=100)
    customer: CustomerIn
    items: list[ItemIn] = Field(default_factory=list, max_length=500)
    total: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2)
    currency: str = Field("USD", pattern="^[A-Za-z]{3}$")
    status: str = Field("paid", max_length=32)
    problem: OrderProblem = Field(
        OrderProblem.NONE,
        description="A problem the shop reports on this order; anything but none opens a care task",
    )
    problem_detail: str = Field("", max_length=500, description="The shop's words about it")
    shipping: ShippingIn | None = None
    placed_at: datetime | None = None


class ShipmentOut(Schema):
    id: int
    method: str
    address: str
    carrier: str
    tracking: str
    status: str
    promised_by: datetime | None
    last_scan_at: datetime | None


class ItemOut(Schema):
    name: str
    quantity: int
    price: Decimal
    sku: str


class OrderOut(Schema):
    id: int
    external_id: str
    customer_id: int
    total: Decimal
    currency: str
    status: str
    problem: str
    problem_detail: str
    placed_at: datetime
    items: list[ItemOut]
    shipments: list[ShipmentOut]

    @staticmethod
    def resolve_items(obj: Order) -> list[object]:
        return list(obj.items.all())

    @staticmethod
    def resolve_shipments(obj: Order) -> list[object]:
        return list(obj.shipments.all())


class TicketBrief(Schema):
    id: int
    subject: str
    status: str
    type: str
    channel: str
    created_at: datetime


class CustomerOut(Schema):
    id: int
    name: str
    kind: str
    tier: str
    emails: list[str]
    orders: list[OrderOut]
    tickets: list[TicketBrief]

    @staticmethod
    def resolve_emails(obj: Customer) -> list[str]:
        return [e.address for e in obj.emails.all()]

    @staticmethod
    def resolve_orders(obj: Customer) -> list[object]:
        return list(obj.orders.all()[:50])

    @staticmethod
    def resolve_tickets(obj: Customer) -> list[object]:
        return list(obj.tickets.order_by("-created_at")[:50])


class CustomerPatch(Schema):
    kind: CustomerKind | None = Field(
        None, description="customer, vendor, candidate or employee: everyone is served alike"
    )
    name: str | None = Field(None, max_length=200)


def _order_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        "items", Prefetch("shipments", Shipment.objects.order_by("created_at", "id"))
    )


SHOP_ONLY = (
    "The shop's sync needs an integration token (manage.py issue_shop_token), not a person's"
)


class ShopToken(HttpBearer):
    """`Authorization: Bearer sdshop_…`: the shop's integration token (`issue_shop_token`).

    A person's valid token is answered 403 (not 401): it is a credential, but what a customer
    paid, which caps every refund, is the shop's word and never an employee's.
    """

    def authenticate(self, request: HttpRequest, token: str) -> IntegrationToken | None:
        shop = services.shop_for_token(token)
        if shop is not None:
            set_actor(None, token_prefix=shop.prefix, via="api")
            return shop
        if BearerToken().authenticate(request, token) is not None:
            raise ApiError(403, SHOP_ONLY, "shop_token_required")
        return None


class NoPersonSession(AgentSession):
    """A logged-in employee's browser session is refused with 403 as well."""

    def authenticate(self, request: HttpRequest, key: str | None) -> None:
        if super().authenticate(request, key) is not None:
            raise ApiError(403, SHOP_ONLY, "shop_token_required")
        return None


@router.post(
    "/orders",
    response={200: OrderOut, 201: OrderOut},
    summary="Create or update an order by external_id (the shop's integration token only)",
    auth=[ShopToken(), NoPersonSession()],
)
def upsert_order(request: HttpRequest, payload: OrderIn) -> Status[Order]:
    shipping = services.ShipmentInput(**payload.shipping.dict()) if payload.shipping else None
    order, created = services.upsert_order(
        external_id=payload.external_id,
        customer_email=payload.customer.email,
        customer_name=payload.customer.name,
        items=[services.ItemInput(**item.dict()) for item in payload.items],
        total=payload.total,
        currency=payload.currency,
        status=payload.status,
        shipping=shipping,
        placed_at=payload.placed_at,
        problem=payload.problem,
        problem_detail=payload.problem_detail,
    )
    return Status(201 if created else 200, _order_queryset().get(pk=order.pk))


def _customer(customer_id: int) -> Customer:
    return get_object_or_404(
        Customer.objects.prefetch_related(
            "emails",
            Prefetch("orders", _order_queryset()),
        ),
        pk=customer_id,
    )


@router.get(
    "/customers/{customer_id}",
    response=CustomerOut,
    summary="A customer with emails, orders and tickets",
)
def get_customer(request: HttpRequest, customer_id: int) -> Customer:
    return _customer(customer_id)


@router.patch(
    "/customers/{customer_id}",
    response=CustomerOut,
    summary="Change a contact's kind (customer, vendor, candidate, employee) or name",
)
def patch_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Customer:
    customer = get_object_or_404(Customer, pk=customer_id)
    try:
        services.update_customer(customer, kind=payload.kind, name=payload.name)
    except services.CustomerError as exc:
        raise ApiError(422, str(exc), exc.code) from None
    return _customer(customer_id)


class MergeIn(Schema):
    into: int = Field(..., description="The contact that survives")


@router.post(
    "/customers/{customer_id}/merge",
    response=CustomerOut,
    summary="Merge a duplicate contact into another: emails, tickets, chats, orders, grants move",
)
def merge_customer(request: HttpRequest, customer_id: int, payload: MergeIn) -> Customer:
    source = get_object_or_404(Customer, pk=customer_id)
    into = Customer.objects.filter(pk=payload.into).first()
    if into is None:
        raise ApiError(422, "into: no contact with this id", "not_found")
    try:
        survivor = services.merge_customers(source, into=into)
    except services.CustomerError as exc:
        raise ApiError(422, str(exc), exc.code) from None
    return _customer(survivor.pk)
