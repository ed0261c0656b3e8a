"""Tickets over HTTP: create, list (keyset pages, filters, full-text), read, change, reply, follow up."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja import Status as WithStatus

from accounts.models import User
from core import hooks
from core.api import ApiError, json_response
from customers.models import CustomerKind
from customers.services import customer_for_email
from tickets import selectors, services
from tickets.models import Channel, FollowUp, Message, Priority, Status, Ticket, TicketType

router = Router(tags=["tickets"])


class CustomerIn(Schema):
    email: str = Field(..., max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field("", max_length=200)


class TicketIn(Schema):
    subject: str = Field(..., min_length=1, max_length=255)
    body: str = Field(..., min_length=1, max_length=100_000)
    customer: CustomerIn
    type: TicketType = TicketType.QUESTION
    priority: Priority = Priority.NORMAL


class TicketPatch(Schema):
    status: Status | None = None
    priority: Priority | None = None
    type: TicketType | None = None
    subject: str | None = Field(None, min_length=1, max_length=255)
    assignee_id: int | None = Field(
        None, description="An agent's id; send null with unassign=true to clear"
    )
    unassign: bool = False
    tags: list[str] | None = Field(None, max_length=50)


class ReplyIn(Schema):
    body: str = Field("", max_length=100_000, description="May be empty when files are attached")
    internal: bool = False
    attachment_ids: list[int] = Field(
        default_factory=list,
        max_length=20,
        description="Files from POST /api/v1/uploads (or already on this ticket), sent as MIME parts",
    )


class FollowUpIn(Schema):
    send_at: datetime
    body: str = Field(..., min_length=1, max_length=100_000)


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str


class MessageOut(Schema):
    id: int
    author_type: str
    author_name: str
    internal: bool
    channel: str
    body: str
    body_html: str
    message_id: str
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_author_name(obj: Message) -> str:
        if obj.author_user is not None:
            return obj.author_user.display_name
        if obj.author_customer is not None:
            return obj.author_customer.display_name
        return "Supportdesk"

    @staticmethod
    def resolve_body(obj: Message) -> str:
        return obj.body_text

    @staticmethod
    def resolve_attachments(obj: Message) -> list[object]:
        return list(obj.attachments.all())


class CustomerBrief(Schema):
    id: int
    name: str
    email: str
    kind: str
    tier: str

    @staticmethod
    def resolve_email(obj: object) -> str:
        return obj.primary_email  # type: ignore[attr-defined]


class TicketOut(Schema):
    id: int
    subject: str
    status: str
    priority: str
    type: str
    channel: str
    reference: str
    customer: CustomerBrief
    assignee_id: int | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    mailbox: int | None = Field(None, description="The shop mailbox it came in through (id)")

    @staticmethod
    def resolve_mailbox(obj: Ticket) -> int | None:
        return obj.mailbox_id

    @staticmethod
    def resolve_tags(obj: Ticket) -> list[str]:
        # Sorted here, not in SQL, so a prefetched list stays one query and the order is stable.
        return sorted(t.name for t in obj.tags.all())


class CsatOut(Schema):
    """The customer's rating as tickets and chats show it (null until they rate); the csat app
    answers the `ticket_csat` and `chat_csat` lookups with it."""

    rating: int
    comment: str
    rated_at: datetime


class CareOut(Schema):
    """The problem behind a proactive care ticket; the care app answers `ticket_care`."""

    reason: str
    reason_label: str
    detail: str
    order_external_id: str | None
    shipment_id: int | None
    suggested_grant: str
    suggested_grant_label: str
    created_at: datetime
    resolved_at: datetime | None


class TicketDetail(TicketOut):
    messages: list[MessageOut]
    follow_ups: list[FollowUpOut] = []
    csat: CsatOut | None = None
    care: CareOut | None = Field(None, description="The problem behind a proactive care task")

    @staticmethod
    def resolve_care(obj: Ticket) -> dict[str, object] | None:
        return hooks.ticket_care.ask(ticket=obj)

    @staticmethod
    def resolve_csat(obj: Ticket) -> dict[str, object] | None:
        return hooks.ticket_csat.ask(ticket=obj)

    @staticmethod
    def resolve_messages(obj: Ticket) -> list[object]:
        return list(obj.messages.all())

    @staticmethod
    def resolve_follow_ups(obj: Ticket) -> list[object]:
        return list(obj.follow_ups.all())


class FollowUpOut(Schema):
    id: int
    ticket_id: int
    send_at: datetime
    status: str
    body: str


TicketDetail.model_rebuild()


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class TicketFilters(Schema):
    status: Status | None = None
    type: TicketType | None = None
    channel: Channel | None = None
    view: selectors.InboxView | None = Field(
        None, description="mine, unassigned, open, pending, solved, all, care, my_care"
    )
    assignee: int | None = None
    contact_kind: CustomerKind | None = Field(
        None, description="Only tickets of customers, vendors, candidates or employees"
    )
    tag: str | None = Field(None, max_length=50)
    mailbox: int | None = Field(
        None, ge=1, le=2**62, description="Only tickets of this mailbox (id)"
    )
    q: str | None = Field(None, max_length=200, description="Full-text search")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


def _detail(ticket_id: int) -> Ticket:
    return get_object_or_404(
        Ticket.objects.select_related("customer").prefetch_related(
            "tags",
            "customer__emails",
            "follow_ups",
            Prefetch(
                "messages",
                Message.objects.select_related("author_user", "author_customer").prefetch_related(
                    "attachments"
                ),
            ),
        ),
        pk=ticket_id,
    )


def _raise(exc: services.TicketError) -> None:
    raise ApiError(422, str(exc), exc.code)


@router.post("/tickets", response={201: TicketDetail}, summary="Open a ticket for a customer")
def create_ticket(request: HttpRequest, payload: TicketIn) -> WithStatus[Ticket]:
    customer = customer_for_email(payload.customer.email, name=payload.customer.name)
    ticket, _ = services.create_ticket(
        customer=customer,
        subject=payload.subject,
        body_text=payload.body,
        channel=Channel.API,
        type=payload.type,
        priority=payload.priority,
    )
    return WithStatus(201, _detail(ticket.pk))


def _ticket_out(row: selectors.TicketRow) -> dict[str, object]:
    """A list row as `TicketOut` dumps it: same keys, same order, same values."""
    return {
        "id": row.id,
        "subject": row.subject,
        "status": row.status,
        "priority": row.priority,
        "type": row.type,
        "channel": row.channel,
        "reference": row.reference,
        "customer": {
            "id": row.customer_id,
            "name": row.customer_name,
            "email": row.customer_email,
            "kind": row.customer_kind,
            "tier": row.customer_tier,
        },
        "assignee_id": row.assignee_id,
        # Sorted here, not in SQL, so the order is stable (as TicketOut.resolve_tags).
        "tags": sorted(row.tags),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "mailbox": row.mailbox_id,
    }


@router.get(
    "/tickets", response=TicketPage, summary="List tickets, newest activity first (keyset pages)"
)
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> HttpResponse:
    # (Comments, not a docstring: ninja would publish a docstring as the operation's description.)
    # `response=TicketPage` documents the body (OpenAPI); the body is built here as plain dicts.
    # Validating 50 rows through ninja's schemas (a `DjangoGetter` per object and field, resolvers
    # in Python) was ~7 ms of a ~10 ms request; the dicts hold exactly what `TicketPage` dumped and
    # go through the API's own renderer (same JSON encoder, so the same datetime format).
    # tests/api/test_ticket_list_body.py checks the body against what the schema made.
    try:
        page = selectors.ticket_page(
            user=request.user,  # type: ignore[arg-type]
            view=filters.view,
            status=filters.status,
            type=filters.type,
            channel=filters.channel,
            assignee_id=filters.assignee,
            customer_kind=filters.contact_kind,
            mailbox_id=filters.mailbox,
            tag=filters.tag,
            q=filters.q,
            cursor=filters.cursor,
            limit=filters.limit,
        )
    except selectors.BadCursor as exc:
        raise ApiError(400, str(exc), "bad_cursor") from None
    body = {"items": [_ticket_out(row) for row in page.items], "next_cursor": page.next_cursor}
    return json_response(request, body, status=200)


@router.get("/tickets/{ticket_id}", response=TicketDetail, summary="A ticket with its messages")
def get_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    return _detail(ticket_id)


@router.patch(
    "/tickets/{ticket_id}", response=TicketDetail, summary="Change status, priority, assignee, tags"
)
def patch_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatch) -> Ticket:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    assignee: User | bool | None = False
    if payload.unassign:
        assignee = None
    elif payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            raise ApiError(422, "assignee_id: no active agent with this id", "invalid_assignee")
    try:
        services.update_ticket(
            ticket,
            by=request.user,  # type: ignore[arg-type]
            status=payload.status,
            priority=payload.priority,
            type=payload.type,
            subject=payload.subject,
            assignee=assignee,
            tags=payload.tags,
        )
    except services.TicketError as exc:
        _raise(exc)
    return _detail(ticket_id)


@router.post(
    "/tickets/{ticket_id}/replies",
    response={201: MessageOut},
    summary="Reply (emailed) or add an internal note",
)
def reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> WithStatus[Message]:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        message = services.add_agent_reply(
            ticket,
            by=request.user,
            body_text=payload.body,
            internal=payload.internal,  # type: ignore[arg-type]
            attachment_ids=payload.attachment_ids,
        )
    except services.TicketError as exc:
        _raise(exc)
    return WithStatus(201, Message.objects.select_related("author_user").get(pk=message.pk))


@router.post(
    "/tickets/{ticket_id}/follow-ups",
    response={201: FollowUpOut},
    summary="Schedule a reply for later",
)
def follow_up(request: HttpRequest, ticket_id: int, payload: FollowUpIn) -> WithStatus[FollowUp]:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        item = services.schedule_follow_up(
            ticket,
            by=request.user,
            send_at=payload.send_at,
            body=payload.body,  # type: ignore[arg-type]
        )
    except services.TicketError as exc:
        _raise(exc)
    return WithStatus(201, item)
