"""The verified visitor's own account in the widget: orders, earlier conversations, reopening.

Auth: the widget's visitor token as `Authorization: Bearer <visitor_token>` (no cookies; CORS as
for every widget endpoint). An unverified visitor gets 403 `unverified`; another customer's order,
chat or ticket is 404.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from django.http import HttpRequest
from ninja import Field, Router, Schema

from core.api import ApiError
from livechat import self_service
from livechat.services import MAX_BODY

router = Router(tags=["widget"])


class ShipmentOut(Schema):
    carrier: str
    tracking: str
    tracking_url: str = Field(..., description="The carrier's tracking page; empty if unknown")
    status: str
    promised_by: datetime | None


class OrderItemOut(Schema):
    name: str
    quantity: int
    price: Decimal


class VisitorOrderOut(Schema):
    external_id: str
    status: str
    total: Decimal
    currency: str
    placed_at: datetime
    items: list[OrderItemOut]
    shipments: list[ShipmentOut]


class VisitorOrderList(Schema):
    items: list[VisitorOrderOut]


class PastChatOut(Schema):
    id: int
    status: str
    created_at: datetime
    last_message_at: datetime | None
    ticket_id: int | None


class PastTicketOut(Schema):
    id: int
    reference: str
    subject: str
    status: str
    created_at: datetime
    updated_at: datetime


class HistoryOut(Schema):
    chats: list[PastChatOut]
    tickets: list[PastTicketOut]


class TranscriptLineOut(Schema):
    seq: int
    author_type: str
    author_name: str
    body: str
    sent_at: datetime


class TranscriptOut(Schema):
    id: int
    status: str
    created_at: datetime
    messages: list[TranscriptLineOut]


class AskOut(Schema):
    conversation_id: int
    order: str


class ReopenIn(Schema):
    # Not required by the schema: the token is checked first, then an empty message is 422.
    message: str = Field("", max_length=MAX_BODY)


class ReopenOut(Schema):
    id: int
    status: str


def _visitor(request: HttpRequest) -> self_service.Visitor:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    try:
        return self_service.verified_visitor(token)
    except self_service.SelfServiceError as exc:
        _raise(exc)


def _raise(exc: self_service.SelfServiceError) -> NoReturn:
    raise ApiError(exc.status, str(exc), exc.code) from exc


def _order(o: Any) -> dict[str, Any]:
    return {
        "external_id": o.external_id,
        "status": o.status,
        "total": o.total,
        "currency": o.currency,
        "placed_at": o.placed_at,
        "items": [
            {"name": i.name, "quantity": i.quantity, "price": i.price} for i in o.items.all()
        ],
        "shipments": [
            {
                "carrier": s.carrier,
                "tracking": s.tracking,
                "tracking_url": self_service.tracking_url(s.carrier, s.tracking),
                "status": s.status,
                "promised_by": s.promised_by,
            }
            for s in o.shipments.all()
        ],
    }


@router.get("/widget/orders", auth=None, response=VisitorOrderList)
def my_orders(request: HttpRequest) -> dict[str, Any]:
    """The verified visitor's latest orders (20) with items and shipments."""
    visitor = _visitor(request)
    return {"items": [_order(o) for o in self_service.orders(visitor)]}


@router.get("/widget/orders/{external_id}", auth=None, response=VisitorOrderOut)
def my_order(request: HttpRequest, external_id: str) -> dict[str, Any]:
    try:
        return _order(self_service.order(_visitor(request), external_id))
    except self_service.SelfServiceError as exc:
        _raise(exc)


@router.post("/widget/orders/{external_id}/ask", auth=None, response=AskOut)
def ask_about_order(request: HttpRequest, external_id: str) -> dict[str, Any]:
    """Attach the order to the visitor's conversation before the chat starts."""
    try:
        conversation = self_service.ask_about_order(_visitor(request), external_id)
    except self_service.SelfServiceError as exc:
        _raise(exc)
    return {"conversation_id": conversation.pk, "order": external_id}


@router.get("/widget/history", auth=None, response=HistoryOut)
def my_history(request: HttpRequest) -> dict[str, Any]:
    """Earlier chats and tickets of the verified visitor, newest first (read only)."""
    found = self_service.history(_visitor(request))
    return {"chats": found.chats, "tickets": found.tickets}


@router.get("/widget/history/chats/{chat_id}", auth=None, response=TranscriptOut)
def my_chat(request: HttpRequest, chat_id: int) -> dict[str, Any]:
    try:
        chat, lines = self_service.chat_transcript(_visitor(request), chat_id)
    except self_service.SelfServiceError as exc:
        _raise(exc)
    return {
        "id": chat.pk,
        "status": chat.status,
        "created_at": chat.created_at,
        "messages": [
            {
                "seq": m.seq,
                "author_type": m.author_type,
                "author_name": m.author_name,
                "body": m.body,
                "sent_at": m.sent_at,
            }
            for m in lines
        ],
    }


@router.post("/widget/history/tickets/{ticket_id}/reopen", auth=None, response=ReopenOut)
def reopen_ticket(request: HttpRequest, ticket_id: int, payload: ReopenIn) -> dict[str, Any]:
    """Write again on one of one's tickets: it reopens for the team."""
    try:
        ticket = self_service.reopen_ticket(_visitor(request), ticket_id, message=payload.message)
    except self_service.SelfServiceError as exc:
        _raise(exc)
    return {"id": ticket.pk, "status": ticket.status}
