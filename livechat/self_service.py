"""What a verified widget visitor may see and do about their own account: their orders with
shipments and tracking, their earlier chats and tickets (read only), reopening a ticket, and
asking about one order in the chat.

Everything is keyed on the visitor token's conversation: only a verified one (the shop proved
the email with `user_hash`) opens this door, and only that conversation's customer's rows are
ever read; another customer's order or ticket is "not found", never "forbidden", so ids cannot
be probed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from customers.models import Order, Shipment
from livechat.models import ChatMessage, Conversation
from livechat.services import conversation_for_identity, read_visitor_token
from tickets import services as tickets
from tickets.models import Channel, Ticket

ORDERS_LIMIT = 20
HISTORY_LIMIT = 20

# Carriers whose public tracking page we can link to; others show the number only.
TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={}",
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "correos": "https://www.correos.es/es/es/herramientas/localizador/envios/detalle?tracking-number={}",
}


class SelfServiceError(Exception):
    def __init__(self, detail: str, *, code: str, status: int) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Visitor:
    conversation: Conversation
    customer_id: int


def verified_visitor(token: str) -> Visitor:
    """The verified visitor a token proves: 401 when it proves nothing, 403 when unverified."""
    identity = read_visitor_token(token)
    conversation = conversation_for_identity(identity) if identity is not None else None
    if conversation is None:
        raise SelfServiceError("A valid visitor token is required", code="unauthorized", status=401)
    if not conversation.verified or conversation.customer_id is None:
        raise SelfServiceError(
            "Only a verified visitor (signed in on the shop) can see orders and history",
            code="unverified",
            status=403,
        )
    return Visitor(conversation=conversation, customer_id=conversation.customer_id)


def tracking_url(carrier: str, tracking: str) -> str:
    template = TRACKING_URLS.get(carrier.strip().lower())
    return template.format(tracking) if template and tracking else ""


def orders(visitor: Visitor) -> list[Order]:
    """The visitor's latest orders with items and shipments, in three queries."""
    return list(_orders(visitor)[:ORDERS_LIMIT])


def _orders(visitor: Visitor) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer_id=visitor.customer_id)
        .prefetch_related("items", Prefetch("shipments", Shipment.objects.order_by("created_at")))
        .order_by("-placed_at", "-pk")
    )


def order(visitor: Visitor, external_id: str) -> Order:
    found = _orders(visitor).filter(external_id=external_id).first()
    if found is None:
        raise SelfServiceError("No such order", code="not_found", status=404)
    return found


def ask_about_order(visitor: Visitor, external_id: str) -> Conversation:
    """Attach one of the visitor's orders to their conversation (the agent's sidebar opens on
    it). Their own order only: another's is 404."""
    found = order(visitor, external_id)
    Conversation.objects.filter(pk=visitor.conversation.pk).update(order=found)
    visitor.conversation.order = found
    return visitor.conversation


@dataclass(frozen=True)
class History:
    chats: list[Conversation]
    tickets: list[Ticket]


def history(visitor: Visitor) -> History:
    """The visitor's earlier chats (with at least one line) and tickets, newest first."""
    chats = list(
        Conversation.objects.filter(customer_id=visitor.customer_id, last_seq__gt=0)
        .exclude(pk=visitor.conversation.pk)
        .order_by("-created_at")[:HISTORY_LIMIT]
    )
    customer_tickets = list(
        Ticket.objects.filter(customer_id=visitor.customer_id).order_by("-updated_at")[
            :HISTORY_LIMIT
        ]
    )
    return History(chats=chats, tickets=customer_tickets)


def chat_transcript(visitor: Visitor, chat_id: int) -> tuple[Conversation, list[ChatMessage]]:
    chat = Conversation.objects.filter(pk=chat_id, customer_id=visitor.customer_id).first()
    if chat is None:
        raise SelfServiceError("No such conversation", code="not_found", status=404)
    return chat, list(chat.messages.order_by("seq")[:500])


def reopen_ticket(visitor: Visitor, ticket_id: int, *, message: str) -> Ticket:
    """The customer writes again on one of their tickets: it reopens, like a reply by email."""
    ticket = Ticket.objects.filter(pk=ticket_id, customer_id=visitor.customer_id).first()
    if ticket is None:
        raise SelfServiceError("No such ticket", code="not_found", status=404)
    text = message.strip()
    if not text:
        raise SelfServiceError("A message is required to reopen", code="invalid", status=422)
    tickets.add_customer_message(
        ticket, customer=ticket.customer, body_text=text, channel=Channel.WEB
    )
    ticket.refresh_from_db()
    return ticket
