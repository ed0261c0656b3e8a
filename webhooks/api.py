"""Outgoing webhooks over HTTP (admin): subscribe, list, see deliveries, redeliver."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja import Status as WithStatus

from accounts.api_auth import role_auth
from accounts.http import AgentRequest
from accounts.reauth import ensure_second_factor_again
from core.api import ApiError
from webhooks import services
from webhooks.models import Delivery, Kind, Webhook

router = Router(tags=["webhooks"], auth=role_auth("admin"))


def _require_admin(request: AgentRequest) -> None:
    if not request.user.has_role("admin"):
        raise PermissionDenied("Only admins manage webhooks")


class WebhookIn(Schema):
    url: str = Field(..., max_length=2000)
    events: list[str] = Field(default_factory=list, description="Empty: every event type")
    secret: str = Field(..., min_length=16, max_length=200, description="HMAC key (never shown)")
    kind: Kind = Kind.GENERIC


class WebhookOut(Schema):
    id: int
    url: str
    kind: str
    events: list[str]
    active: bool
    failing_since: datetime | None
    disabled_at: datetime | None
    created_at: datetime


class WebhookList(Schema):
    items: list[WebhookOut]


class AttemptOut(Schema):
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str


class DeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    object_key: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    last_duration_ms: int | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    log: list[AttemptOut]

    @staticmethod
    def resolve_event_id(obj: Delivery) -> str:
        return str(obj.event_id)

    @staticmethod
    def resolve_event_type(obj: Delivery) -> str:
        return obj.event.type

    @staticmethod
    def resolve_next_attempt_at(obj: Delivery) -> datetime | None:
        return obj.next_attempt_at if obj.status == "pending" else None

    @staticmethod
    def resolve_log(obj: Delivery) -> list[object]:
        return list(obj.log.all())


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: int | None


class DeliveryFilters(Schema):
    status: str | None = Field(None, pattern="^(pending|delivered|failed)$")
    cursor: int | None = Field(None, description="The last id of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.post("/webhooks", response={201: WebhookOut}, summary="Subscribe a URL to events (admin)")
def create_webhook(request: AgentRequest, payload: WebhookIn) -> WithStatus[Webhook]:
    """With a session, the second factor must have been given in the last minutes (else 403
    `reauthentication_required`); a bearer token needs the `admin` scope (accounts/reauth.py)."""
    _require_admin(request)
    ensure_second_factor_again(request, admin_token_passes=True)
    try:
        webhook = services.create_webhook(
            url=payload.url,
            events=payload.events,
            secret=payload.secret,
            kind=payload.kind,
            by=request.user,
        )
    except services.WebhookError as exc:
        raise ApiError(422, str(exc), exc.code) from None
    return WithStatus(201, webhook)


@router.get("/webhooks", response=WebhookList, summary="Webhooks (admin)")
def list_webhooks(request: AgentRequest) -> dict[str, object]:
    _require_admin(request)
    return {"items": list(Webhook.objects.order_by("id")[:500])}


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response=DeliveryPage,
    summary="Deliveries of a webhook, newest first, with every attempt (admin)",
)
def deliveries(
    request: AgentRequest, webhook_id: int, filters: Query[DeliveryFilters]
) -> dict[str, object]:
    _require_admin(request)
    webhook = get_object_or_404(Webhook, pk=webhook_id)
    qs = webhook.deliveries.select_related("event").prefetch_related("log").order_by("-id")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.cursor:
        qs = qs.filter(id__lt=filters.cursor)
    rows = list(qs[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {"items": rows, "next_cursor": rows[-1].pk if more else None}


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response=DeliveryOut,
    summary="Send an event again, with the same event id (admin)",
)
def redeliver(request: AgentRequest, webhook_id: int, delivery_id: int) -> Delivery:
    _require_admin(request)
    delivery = get_object_or_404(Delivery, pk=delivery_id, webhook_id=webhook_id)
    services.redeliver(delivery)
    return Delivery.objects.select_related("event").prefetch_related("log").get(pk=delivery.pk)


@router.post("/webhooks/{webhook_id}/enable", response=WebhookOut, summary="Enable again (admin)")
def enable(request: AgentRequest, webhook_id: int) -> Webhook:
    _require_admin(request)
    return services.enable(get_object_or_404(Webhook, pk=webhook_id))
