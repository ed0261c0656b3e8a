"""Tickets over HTTP: create, list (keyset pages, filters, full-text), read, change, reply, follow up."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja import Status as WithStatus

from accounts.api_auth import role_auth
from accounts.http import AgentRequest
from accounts.models import User
from core import hooks
from core.api import ApiError, json_response
from customers.models import Customer, CustomerKind
from customers.services import customer_for_email
from tickets import bulk, inbox_counts, merging, selectors, services, spam
from tickets.models import (
    BlockedSender,
    BulkJob,
    Channel,
    FollowUp,
    Message,
    Priority,
    Status,
    Ticket,
    TicketType,
)

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
    channel: Channel | None = Field(
        None, description="Correct the channel (moves the customer-wait targets with it)"
    )
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
    send_at: datetime | Literal["next_business_morning"] = Field(
        ...,
        description='An ISO 8601 time with its offset, or "next_business_morning": the first '
        "opening after today under the business hours (GET /api/v1/business-hours)",
        examples=["2026-12-07T09:00:00+01:00", "next_business_morning"],
    )
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
    def resolve_email(obj: Customer) -> str:
        return obj.primary_email


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
    last_message_preview: str = Field(
        "", description="The last public message, on one line (at most 160 characters)"
    )
    customer_waiting_since: datetime | None = Field(
        None,
        description="Since when the customer has waited for an answer (their oldest message no"
        " one has answered publicly, on a new or open ticket); null when nobody waits on us",
    )
    first_response_due_at: datetime | None = Field(
        None,
        description="When the customer will have waited too long for a first reply (the"
        " first-response target, in business hours when hours are set); null once answered",
    )
    resolution_due_at: datetime | None = Field(
        None,
        description="When the customer will have waited too long for a resolution; null once"
        " solved",
    )

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
    merged_into_id: int | None = Field(None, description="Set when merged: the surviving ticket")
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
        None,
        description="mine, unassigned, open, pending, solved, all, care, my_care, spam, waiting"
        " (open tickets whose customer waits, the longest wait first)",
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


# --- many tickets at once, merges, spam -----------------------------------------------------------


class BulkIn(Schema):
    ids: list[int] = Field(..., min_length=1, description=f"At most {bulk.MAX_IDS} ticket ids")
    action: str = Field(
        ..., description="assign, unassign, status, tag, untag, merge, spam or not_spam"
    )
    value: str | int | None = Field(
        None,
        description="assign: an agent id; status: a status; tag/untag: tag names, comma "
        "separated; merge: the surviving ticket's id",
    )


class BulkFailure(Schema):
    id: int
    code: str


class BulkOut(Schema):
    updated: list[int]
    failed: list[BulkFailure]
    job_id: int | None = Field(
        None,
        description=f"More than {bulk.SYNC_LIMIT} ids: worked in the background; follow "
        "GET /tickets/bulk/{job_id}",
    )


class BulkJobOut(Schema):
    id: int
    action: str
    status: str
    total: int
    done: int
    updated: list[int]
    failed: list[BulkFailure]


def _bulk_job_out(job: BulkJob) -> dict[str, object]:
    return {
        "id": job.pk,
        "action": job.action,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "updated": job.updated,
        "failed": job.failed,
    }


@router.post(
    "/tickets/bulk",
    response={200: BulkOut, 202: BulkOut},
    summary="One action on many tickets; each ticket changes as it would on its own",
)
def bulk_tickets(request: AgentRequest, payload: BulkIn) -> WithStatus[dict[str, object]]:
    if len(payload.ids) > bulk.MAX_IDS:
        raise ApiError(422, f"At most {bulk.MAX_IDS} ids per request", "too_many")
    try:
        outcome = bulk.bulk_change(
            ids=payload.ids,
            action=payload.action,
            value=payload.value,
            by=request.user,
        )
    except services.TicketError as exc:
        _raise(exc)
    if isinstance(outcome, BulkJob):
        return WithStatus(202, {"updated": [], "failed": [], "job_id": outcome.pk})
    return WithStatus(200, {"updated": outcome.updated, "failed": outcome.failed})


@router.get("/tickets/bulk/{job_id}", response=BulkJobOut, summary="Progress of a bulk job")
def bulk_job(request: HttpRequest, job_id: int) -> dict[str, object]:
    return _bulk_job_out(get_object_or_404(BulkJob, pk=job_id))


@router.post("/tickets", response={201: TicketDetail}, summary="Open a ticket for a customer")
def create_ticket(request: HttpRequest, payload: TicketIn) -> WithStatus[Ticket]:
    customer = customer_for_email(payload.customer.email, name=payload.customer.name)
    ticket, _ = services.create_ticket(
        services.NewTicket(
            customer=customer,
            subject=payload.subject,
            body_text=payload.body,
            channel=Channel.API,
            type=payload.type,
            priority=payload.priority,
        )
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
        "last_message_preview": row.last_message_preview,
        "customer_waiting_since": row.customer_waiting_since,
        "first_response_due_at": row.first_response_due_at,
        "resolution_due_at": row.resolution_due_at,
    }


@router.get(
    "/tickets", response=TicketPage, summary="List tickets, newest activity first (keyset pages)"
)
def list_tickets(request: AgentRequest, filters: Query[TicketFilters]) -> HttpResponse:
    # (Comments, not a docstring: ninja would publish a docstring as the operation's description.)
    # `response=TicketPage` documents the body (OpenAPI); the body is built here as plain dicts.
    # Validating 50 rows through ninja's schemas (a `DjangoGetter` per object and field, resolvers
    # in Python) was ~7 ms of a ~10 ms request; the dicts hold exactly what `TicketPage` dumped and
    # go through the API's own renderer (same JSON encoder, so the same datetime format).
    # tests/api/test_ticket_list_body.py checks the body against what the schema made.
    try:
        page = selectors.ticket_page(
            user=request.user,
            filters=selectors.InboxFilters(
                view=filters.view,
                status=filters.status,
                type=filters.type,
                channel=filters.channel,
                assignee_id=filters.assignee,
                customer_kind=filters.contact_kind,
                mailbox_id=filters.mailbox,
                tag=filters.tag,
                q=filters.q,
            ),
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
def patch_ticket(request: AgentRequest, ticket_id: int, payload: TicketPatch) -> Ticket:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    assignee: User | None = None
    if payload.assignee_id is not None and not payload.unassign:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            raise ApiError(422, "assignee_id: no active agent with this id", "invalid_assignee")
    changes = services.TicketChanges(
        status=payload.status,
        priority=payload.priority,
        type=payload.type,
        channel=payload.channel,
        subject=payload.subject,
        tags=payload.tags,
        reassign=payload.unassign or payload.assignee_id is not None,
        assignee=assignee,
    )
    try:
        services.change_ticket(ticket, by=request.user, changes=changes)
    except services.TicketError as exc:
        _raise(exc)
    return _detail(ticket_id)


@router.post(
    "/tickets/{ticket_id}/replies",
    response={201: MessageOut},
    summary="Reply (emailed) or add an internal note",
)
def reply(request: AgentRequest, ticket_id: int, payload: ReplyIn) -> WithStatus[Message]:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        message = services.add_agent_reply(
            ticket,
            by=request.user,
            body_text=payload.body,
            internal=payload.internal,
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
def follow_up(request: AgentRequest, ticket_id: int, payload: FollowUpIn) -> WithStatus[FollowUp]:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        send_at = (
            services.next_business_morning()
            if isinstance(payload.send_at, str)  # the one string it takes: NEXT_BUSINESS_MORNING
            else payload.send_at
        )
        item = services.schedule_follow_up(
            ticket,
            by=request.user,
            send_at=send_at,
            body=payload.body,
        )
    except services.TicketError as exc:
        _raise(exc)
    return WithStatus(201, item)


class MergeIn(Schema):
    into: int = Field(..., description="The ticket that survives")


@router.post(
    "/tickets/{ticket_id}/merge",
    response=TicketDetail,
    summary="Merge a ticket into another; it becomes a pointer to the survivor",
)
def merge_ticket(request: AgentRequest, ticket_id: int, payload: MergeIn) -> Ticket:
    source = get_object_or_404(Ticket, pk=ticket_id)
    into = Ticket.objects.filter(pk=payload.into).first()
    if into is None:
        raise ApiError(422, "into: no ticket with this id", "not_found")
    try:
        survivor = merging.merge_ticket(source, into=into, by=request.user)
    except services.TicketError as exc:
        _raise(exc)
    return _detail(survivor.pk)


@router.post("/tickets/{ticket_id}/spam", response=TicketDetail, summary="Mark a ticket spam")
def mark_spam(request: AgentRequest, ticket_id: int) -> Ticket:
    try:
        spam.mark_spam(get_object_or_404(Ticket, pk=ticket_id), by=request.user)
    except services.TicketError as exc:
        _raise(exc)
    return _detail(ticket_id)


@router.post(
    "/tickets/{ticket_id}/not-spam", response=TicketDetail, summary="Restore a spam ticket"
)
def mark_not_spam(request: AgentRequest, ticket_id: int) -> Ticket:
    spam.mark_not_spam(get_object_or_404(Ticket, pk=ticket_id), by=request.user)
    return _detail(ticket_id)


class BlockIn(Schema):
    pattern: str = Field(
        ..., max_length=254, description="An address (name@example.com) or a domain (example.com)"
    )
    note: str = Field("", max_length=200)


class BlockedOut(Schema):
    id: int
    pattern: str
    note: str
    created_at: datetime


class BlockedPage(Schema):
    items: list[BlockedOut]


def _require_admin(request: AgentRequest) -> None:
    from django.core.exceptions import PermissionDenied

    if not request.user.has_role("admin"):
        raise PermissionDenied("Only admins manage blocked senders")


@router.get("/blocked-senders", response=BlockedPage, summary="Blocked addresses and domains")
def blocked_senders(request: AgentRequest) -> dict[str, object]:
    _require_admin(request)
    return {"items": list(BlockedSender.objects.all()[:1000])}


@router.post(
    "/blocked-senders",
    auth=role_auth("admin"),
    response={201: BlockedOut},
    summary="Block an address or a domain: its mail goes straight to spam (admin)",
)
def block_sender(request: AgentRequest, payload: BlockIn) -> WithStatus[BlockedSender]:
    _require_admin(request)
    try:
        blocked = spam.block_sender(payload.pattern, by=request.user, note=payload.note)
    except services.TicketError as exc:
        _raise(exc)
    return WithStatus(201, blocked)


@router.delete("/blocked-senders/{blocked_id}", response={204: None}, summary="Unblock (admin)")
def unblock_sender(request: AgentRequest, blocked_id: int) -> WithStatus[None]:
    _require_admin(request)
    spam.unblock_sender(get_object_or_404(BlockedSender, pk=blocked_id), by=request.user)
    return WithStatus(204, None)


# --- saved views ------------------------------------------------------------------------------


class SavedViewIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    filters: dict[str, str | int | None] = Field(
        default_factory=dict,
        description="Any of the inbox filters: view, status, type, channel, assignee, tag, kind, q",
    )
    shared: bool = False


class SavedViewOut(Schema):
    id: int
    name: str
    filters: dict[str, str]
    shared: bool
    owner_id: int
    count: int | None = Field(
        None, description="Tickets in the view, capped at 1000 (the inbox shows 999+)"
    )


class SavedViewList(Schema):
    items: list[SavedViewOut]


@router.get("/views", response=SavedViewList, summary="My saved views and the shared ones")
def list_views(request: AgentRequest) -> dict[str, object]:
    from tickets import saved_views

    views = saved_views.views_for(request.user)
    counts = inbox_counts.saved_counts(views, user=request.user)
    return {
        "items": [
            {
                "id": v.pk,
                "name": v.name,
                "filters": v.filters,
                "shared": v.shared,
                "owner_id": v.owner_id,
                "count": counts[v.pk],
            }
            for v in views
        ]
    }


@router.post("/views", response={201: SavedViewOut}, summary="Save a combination of filters")
def create_view(request: AgentRequest, payload: SavedViewIn) -> WithStatus[object]:
    from tickets import saved_views

    try:
        view = saved_views.create_view(
            owner=request.user,
            name=payload.name,
            filters=payload.filters,
            shared=payload.shared,
        )
    except services.TicketError as exc:
        _raise(exc)
    return WithStatus(201, view)
