"""WOW grants and stories over HTTP: parse, call `wow_credits.services`, render."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from accounts.http import AgentRequest
from accounts.models import User
from core.api import ApiError
from customers.models import CustomerEmail, Order
from customers.services import normalize_email
from tickets.models import Ticket
from wow_credits import services
from wow_credits.models import Grant, GrantKind, Story

router = Router(tags=["wow"])


class PersonOut(Schema):
    id: int
    name: str
    email: str

    @staticmethod
    def resolve_name(obj: User) -> str:
        return obj.display_name


class GrantIn(Schema):
    kind: GrantKind
    customer_email: str | None = Field(None, max_length=254)
    order_external_id: str | None = Field(None, max_length=100)
    amount: Decimal | None = Field(None, max_digits=12, decimal_places=2)
    reason: str = Field("", max_length=5000)
    ticket_id: int | None = None
    chat_id: int | None = None
    recipient_email: str | None = Field(None, max_length=254, description="coworker_bonus only")
    details: dict[str, Any] = Field(
        default_factory=dict, description="e.g. {address} for reroutes, {percent} for codes"
    )


class GrantOut(Schema):
    id: int
    kind: str
    status: str
    amount: Decimal | None
    currency: str
    reason: str
    agent: PersonOut
    customer_id: int | None
    order_external_id: str | None
    recipient: PersonOut | None
    ticket_id: int | None
    chat_id: int | None
    unverified_chat: bool = Field(
        ..., description="Made in a chat whose visitor had not proven their email address"
    )
    undo_until: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    external_ref: str
    outcome: str
    created_at: datetime
    executed_at: datetime | None

    @staticmethod
    def resolve_order_external_id(obj: Grant) -> str | None:
        return obj.order.external_id if obj.order is not None else None

    @staticmethod
    def resolve_recipient(obj: Grant) -> User | None:
        return obj.recipient_user


class GrantList(Schema):
    items: list[GrantOut]
    next_cursor: str | None


class GrantFilters(Schema):
    customer: str | None = None
    agent: str | None = None
    kind: GrantKind | None = None
    status: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class StoryIn(Schema):
    title: str = Field(..., max_length=200)
    story: str = Field(..., max_length=20_000)
    values: list[str] = Field(default_factory=list, max_length=20)
    ticket_id: int | None = None
    chat_id: int | None = None
    grant_ids: list[int] = Field(default_factory=list, max_length=50)
    subject_user_id: int | None = None


class StoryOut(Schema):
    id: int
    title: str
    story: str
    values: list[str]
    grants: list[GrantOut]
    author: PersonOut
    subject_user: PersonOut | None
    ticket_id: int | None
    chat_id: int | None
    celebrations: int
    created_at: datetime

    @staticmethod
    def resolve_values(obj: Story) -> list[str]:
        return [v.slug for v in obj.values.all()]

    @staticmethod
    def resolve_grants(obj: Story) -> list[Grant]:
        return list(obj.grants.all())

    @staticmethod
    def resolve_celebrations(obj: Story) -> int:
        count = getattr(obj, "celebration_count", None)
        return count if count is not None else obj.celebrations.count()


class StoryList(Schema):
    items: list[StoryOut]
    next_cursor: str | None


class StoryFilters(Schema):
    value: str | None = None
    agent: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class CelebrateOut(Schema):
    celebrations: int


def _raise(exc: services.GrantError) -> None:
    raise ApiError(exc.status, str(exc), exc.code) from exc


def _grants() -> QuerySet[Grant]:
    return Grant.objects.select_related("agent", "order", "recipient_user")


def _user_filter(field: str, value: str) -> Q:
    if value.isdigit():
        return Q(**{f"{field}_id": int(value)})
    return Q(**{f"{field}__email": value.lower()})


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise ApiError(400, "Invalid cursor", "invalid_cursor")
    return int(value)


@router.post("/wow/grants", response={200: GrantOut, 201: GrantOut})
def create_grant(request: AgentRequest, payload: GrantIn) -> Status[Grant]:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise ApiError(400, "Send an Idempotency-Key header", "idempotency_key_required")
    customer = order = recipient = None
    if payload.order_external_id:
        order = (
            Order.objects.select_related("customer")
            .filter(external_id=payload.order_external_id)
            .first()
        )
        if order is None:
            raise ApiError(422, f"Unknown order {payload.order_external_id}", "unknown_order")
    if payload.customer_email:
        email = (
            CustomerEmail.objects.select_related("customer")
            .filter(address=normalize_email(payload.customer_email))
            .first()
        )
        if email is None:
            raise ApiError(422, f"Unknown customer {payload.customer_email}", "unknown_customer")
        customer = email.customer
    if payload.recipient_email:
        recipient = User.objects.filter(
            email=payload.recipient_email.lower(), is_active=True
        ).first()
        if recipient is None:
            raise ApiError(422, "Unknown coworker", "unknown_recipient")
    if payload.ticket_id is not None and not Ticket.objects.filter(pk=payload.ticket_id).exists():
        raise ApiError(422, f"Unknown ticket {payload.ticket_id}", "unknown_ticket")
    try:
        grant, created = services.grant(
            payload.kind,
            by=request.user,
            customer=customer,
            order=order,
            amount=payload.amount,
            reason=payload.reason,
            idempotency_key=key,
            ticket_id=payload.ticket_id,
            chat_id=payload.chat_id,
            recipient=recipient,
            details=payload.details,
        )
    except services.GrantError as exc:
        _raise(exc)
    return Status(201 if created else 200, grant)


@router.get(
    "/wow/grants",
    response=GrantList,
    description="Managers and admins list every grant. Agents must pass `customer=` or their "
    "own `agent=` (else 403 `managers_only`): amounts across everyone are the reports' business.",
)
def list_grants(request: AgentRequest, filters: Query[GrantFilters]) -> dict[str, Any]:
    user = request.user
    own = filters.agent and filters.agent.lower() in (str(user.pk), user.email)
    if not user.is_manager and not filters.customer and not own:
        # What everyone granted, with amounts, is what the manager-only reports show: agents
        # list one customer's grants (the guardrails beside the grant button) or their own.
        raise ApiError(
            403,
            "Agents list the grants of one customer (customer=) or their own (agent=); "
            "everyone's grants are for managers",
            "managers_only",
        )
    qs = _grants()
    if filters.customer:
        if filters.customer.isdigit():
            qs = qs.filter(customer_id=int(filters.customer))
        else:
            qs = qs.filter(customer__emails__address=normalize_email(filters.customer))
    if filters.agent:
        qs = qs.filter(_user_filter("agent", filters.agent))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    after = _cursor(filters.cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after)
    items = list(qs.order_by("-id")[: filters.limit + 1])
    more = len(items) > filters.limit
    items = items[: filters.limit]
    return {"items": items, "next_cursor": str(items[-1].pk) if more else None}


@router.get("/wow/grants/{grant_id}", response=GrantOut)
def get_grant(request: HttpRequest, grant_id: int) -> Grant:
    return get_object_or_404(_grants(), pk=grant_id)


@router.post("/wow/grants/{grant_id}/undo", response=GrantOut)
def undo(request: AgentRequest, grant_id: int) -> Grant:
    target = get_object_or_404(Grant, pk=grant_id)
    try:
        services.undo_grant(target, by=request.user)
    except services.GrantError as exc:
        _raise(exc)
    return _grants().get(pk=grant_id)


@router.post("/wow/grants/{grant_id}/retry", response=GrantOut)
def retry(request: AgentRequest, grant_id: int) -> Grant:
    target = get_object_or_404(Grant, pk=grant_id)
    try:
        services.retry_grant(target, by=request.user)
    except services.GrantError as exc:
        _raise(exc)
    return _grants().get(pk=grant_id)


def _stories() -> QuerySet[Story]:
    return (
        Story.objects.select_related("author", "subject_user")
        .prefetch_related("values", "grants__agent", "grants__order", "grants__recipient_user")
        .annotate(celebration_count=Count("celebrations", distinct=True))
    )


@router.post("/wow/stories", response={201: StoryOut})
def create_story(request: AgentRequest, payload: StoryIn) -> Status[Story]:
    subject = None
    if payload.subject_user_id is not None:
        subject = User.objects.filter(pk=payload.subject_user_id, is_active=True).first()
        if subject is None:
            raise ApiError(422, "Unknown coworker", "unknown_user")
    try:
        story = services.nominate_story(
            by=request.user,
            title=payload.title,
            story=payload.story,
            values=payload.values,
            ticket_id=payload.ticket_id,
            chat_id=payload.chat_id,
            grant_ids=payload.grant_ids,
            subject_user=subject,
        )
    except services.GrantError as exc:
        _raise(exc)
    return Status(201, _stories().get(pk=story.pk))


@router.get("/wow/stories", response=StoryList)
def list_stories(request: HttpRequest, filters: Query[StoryFilters]) -> dict[str, Any]:
    qs = _stories()
    if filters.value:
        qs = qs.filter(values__slug=filters.value)
    if filters.agent:
        who = _user_filter("author", filters.agent) | _user_filter("subject_user", filters.agent)
        qs = qs.filter(who)
    after = _cursor(filters.cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after)
    items = list(qs.order_by("-id").distinct()[: filters.limit + 1])
    more = len(items) > filters.limit
    items = items[: filters.limit]
    return {"items": items, "next_cursor": str(items[-1].pk) if more else None}


@router.get("/wow/stories/{story_id}", response=StoryOut)
def get_story(request: HttpRequest, story_id: int) -> Story:
    return get_object_or_404(_stories(), pk=story_id)


@router.post("/wow/stories/{story_id}/celebrate", response=CelebrateOut)
def celebrate_story(request: AgentRequest, story_id: int) -> dict[str, int]:
    story = get_object_or_404(Story, pk=story_id)
    return {"celebrations": services.celebrate(story, by=request.user)}
