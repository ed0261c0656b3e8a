"""Live chat over HTTP: the widget's public endpoints and the agents' `/chats` endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import HttpBearer

from accounts.http import AgentRequest
from attachments.api import UploadOut, take_upload
from attachments.models import Source
from core import hooks, languages, ratelimit
from core.api import ApiError
from hours import services as business_hours
from livechat import events, services, widget_strings
from livechat.models import ChatAuthorType, Conversation, ConversationStatus
from tickets.api import CsatOut

router = Router(tags=["live chat"])

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"


def _websocket_url(request: HttpRequest, token: str) -> str:
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}/ws/chat/?token={token}"


# --- the widget (public) -----------------------------------------------------------------------


class SessionIn(Schema):
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    page_url: str = Field("", max_length=1000)
    user_hash: str = Field("", max_length=128)
    visitor_token: str = Field("", max_length=1000)
    team: str = Field(
        "",
        max_length=50,
        description="The team's slug (the widget's `team` option). Unknown or empty: the "
        "page-prefix routing rule decides; `team` in the answer says which team it got.",
    )
    lang: str = Field(
        "", max_length=35, description="The widget's language (en, es, de; others mean English)"
    )


class SessionOut(Schema):
    visitor_token: str
    conversation_id: int
    team: str | None = Field(None, description="The slug of the chat's team, if any")
    websocket_url: str
    agents_online: bool
    verified: bool
    usual_wait_seconds: int | None = Field(
        None, description="Median wait for an agent over recent chats; null when unknown."
    )
    open: bool = Field(..., description="Within business hours now (hours app)")
    next_open_at: datetime | None = Field(..., description="When open again; now if open")


@router.post("/widget/sessions", auth=None, response={201: SessionOut}, tags=["widget"])
def create_session(request: HttpRequest, payload: SessionIn) -> Status[dict[str, Any]]:
    ratelimit.check(request, "widget-sessions")
    if payload.email and "@" not in payload.email:
        raise ApiError(422, "email: not an email address", "invalid")
    try:
        conversation, token = services.start_session(
            name=payload.name,
            email=payload.email,
            page_url=payload.page_url,
            user_hash=payload.user_hash,
            visitor_token=payload.visitor_token,
            team=payload.team,
            language=payload.lang,
        )
    except services.ChatError as error:
        raise ApiError(403, str(error), error.code) from None
    # A chat with a team follows its team's hours (the shop's unless the team has its own).
    hours = business_hours.current(team_id=conversation.team_id)
    return Status(
        201,
        {
            "visitor_token": token,
            "conversation_id": conversation.pk,
            "team": conversation.team.slug if conversation.team is not None else None,
            "websocket_url": _websocket_url(request, token),
            "agents_online": services.agents_available(),
            "verified": conversation.verified,
            "usual_wait_seconds": services.usual_wait_seconds(),
            "open": business_hours.is_open(hours),
            "next_open_at": business_hours.next_open_at(hours),
        },
    )


class VisitorBearer(HttpBearer):
    """`Authorization: Bearer <visitor_token>`: the widget visitor of one conversation."""

    def authenticate(self, request: HttpRequest, token: str) -> Conversation | None:
        identity = services.read_visitor_token(token)
        return services.conversation_for_identity(identity) if identity else None


def _visitor_conversation(request: HttpRequest) -> Conversation:
    conversation: Conversation = request.auth  # type: ignore[attr-defined]  # set by django-ninja's VisitorBearer
    return conversation


class VerificationOut(Schema):
    sent_to: str = Field(..., description="The claimed address, masked (s***@example.com)")


class VerificationConfirmIn(Schema):
    code: str = Field(..., max_length=12)


class VerificationConfirmOut(Schema):
    verified: bool
    visitor_token: str


@router.post(
    "/widget/verification",
    auth=VisitorBearer(),
    response={202: VerificationOut},
    tags=["widget"],
    summary="Email a one-time code to the address an unverified visitor gave",
    description="Header `Authorization: Bearer <visitor_token>`. Until the code is confirmed, "
    "the chat is not linked to that address's customer and agents see the address as a claim.",
)
def request_verification(request: HttpRequest) -> Status[dict[str, Any]]:
    ratelimit.check(request, "widget-sessions")
    conversation = _visitor_conversation(request)
    try:
        sent_to = services.request_email_verification(conversation)
    except services.ChatError as error:
        raise ApiError(
            429 if error.code == "rate_limited" else 409, str(error), error.code
        ) from None
    return Status(202, {"sent_to": sent_to})


@router.post(
    "/widget/verification/confirm",
    auth=VisitorBearer(),
    response=VerificationConfirmOut,
    tags=["widget"],
    summary="Confirm the emailed code: the chat becomes verified and linked to the customer",
)
def confirm_verification(request: HttpRequest, payload: VerificationConfirmIn) -> dict[str, Any]:
    ratelimit.check(request, "widget-sessions")
    conversation = _visitor_conversation(request)
    try:
        conversation, token = services.confirm_email_verification(conversation, payload.code)
    except services.ChatError as error:
        status = 429 if error.code == "too_many_attempts" else 422
        raise ApiError(status, str(error), error.code) from None
    return {"verified": conversation.verified, "visitor_token": token}


class WidgetStatusOut(Schema):
    agents_online: bool


@router.get("/widget/status", auth=None, response=WidgetStatusOut, tags=["widget"])
def widget_status(request: HttpRequest) -> dict[str, Any]:
    return {"agents_online": services.agents_available()}


class WidgetStringsOut(Schema):
    lang: str = Field(..., description="The language served: the one asked for, else English")
    strings: dict[str, str]


@router.get(
    "/widget/strings",
    auth=None,
    response=WidgetStringsOut,
    tags=["widget"],
    summary="The widget's texts in one language (English is built into widget.js)",
    description="`lang` is the widget's `lang` option, else the page's `<html lang>`, else the "
    "browser's language; without it, `Accept-Language` decides. A code we do not speak gets "
    "English. Cached by browsers and CDNs for an hour.",
)
def widget_strings_view(
    request: HttpRequest, response: HttpResponse, lang: str = Query("", max_length=35)
) -> dict[str, Any]:
    if lang:
        language = languages.or_default(lang)
    else:
        language = languages.or_default(
            languages.from_header(request.headers.get("Accept-Language"))
        )
        response["Vary"] = "Accept-Language"
    response["Cache-Control"] = "public, max-age=3600"
    return {"lang": language, "strings": widget_strings.strings(language)}


class OfflineIn(Schema):
    name: str = Field("", max_length=200)
    email: str = Field(..., max_length=254, pattern=EMAIL_PATTERN)
    message: str = Field(..., min_length=1, max_length=services.MAX_BODY)
    page_url: str = Field("", max_length=1000)
    lang: str = Field("", max_length=35, description="The widget's language")


class OfflineOut(Schema):
    status: str
    reference: str


@router.post("/widget/offline", auth=None, response={201: OfflineOut}, tags=["widget"])
def offline_message(request: HttpRequest, payload: OfflineIn) -> Status[dict[str, Any]]:
    ratelimit.check(request, "widget-offline")
    try:
        ticket = services.submit_offline_message(
            name=payload.name,
            email=payload.email,
            message=payload.message,
            page_url=payload.page_url,
            language=payload.lang,
        )
    except services.ChatError as error:
        raise ApiError(422, str(error), error.code) from None
    return Status(201, {"status": "received", "reference": ticket.reference})


@router.post(
    "/widget/uploads",
    auth=None,
    response={201: UploadOut},
    tags=["widget"],
    summary="A visitor uploads a file (multipart field `file`, Authorization: Bearer <visitor_token>)",
)
def widget_upload(
    request: HttpRequest, file: File[UploadedFile | None] = None
) -> Status[dict[str, Any]]:
    ratelimit.check(request, "widget-uploads")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    conversation_id = (
        services.visitor_conversation_id(token.strip()) if scheme.lower() == "bearer" else None
    )
    if conversation_id is None:
        raise ApiError(401, "Send Authorization: Bearer <visitor_token>", "unauthorized")
    return Status(
        201, take_upload(request, file, source=Source.VISITOR, conversation_id=conversation_id)
    )


# --- agents ------------------------------------------------------------------------------------


class AuthorOut(Schema):
    type: str
    name: str


class ChatMessageOut(Schema):
    """A chat line (named apart from tickets' MessageOut: OpenAPI component names are global)."""

    type: str = "message"
    conversation_id: int
    seq: int
    id: int
    client_id: str
    author: AuthorOut
    body: str
    sent_at: datetime
    attachments: list[UploadOut] = []


class ChatOut(Schema):
    id: int
    status: str
    visitor_name: str
    visitor_email: str
    verified: bool
    customer_id: int | None
    assignee_id: int | None
    last_seq: int
    ticket_id: int | None
    page_url: str
    order_id: int | None = Field(None, description="The order asked about from the widget")
    created_at: datetime
    team_id: int | None = Field(None, description="The team that answers the chat")
    team: str | None = Field(None, description="The team's name")


class ChatDetailOut(ChatOut):
    messages: list[ChatMessageOut]
    csat: CsatOut | None = None


class ChatListOut(Schema):
    items: list[ChatOut]


def _chat(conversation: Conversation) -> dict[str, Any]:
    # order_id: the order a verified visitor asked about (livechat.self_service).
    return {**events.conversation_summary(conversation), "order_id": conversation.order_id}


@router.get("/chats", response=ChatListOut)
def list_chats(
    request: HttpRequest,
    status: ConversationStatus | None = None,
    customer: int | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    query = Conversation.objects.select_related("team").order_by("-created_at")
    if customer is not None:
        query = query.filter(customer_id=customer)
    if status is not None:
        query = query.filter(status=status)
    if status == ConversationStatus.WAITING:
        query = query.filter(last_seq__gt=0).order_by("created_at")
    return {"items": [_chat(c) for c in query[: max(1, min(limit, 200))]]}


@router.get("/chats/{chat_id}", response=ChatDetailOut)
def get_chat(request: HttpRequest, chat_id: int, after_seq: int = 0) -> dict[str, Any]:
    conversation = get_object_or_404(Conversation, pk=chat_id)
    messages = services.messages_after(conversation.pk, after_seq=max(after_seq, 0))
    return {
        **_chat(conversation),
        "messages": [events.message_frame(m) for m in messages],
        "csat": hooks.chat_csat.ask(conversation=conversation),
    }


@router.post("/chats/{chat_id}/join", response=ChatOut)
def join_chat(request: AgentRequest, chat_id: int) -> dict[str, Any]:
    get_object_or_404(Conversation, pk=chat_id)
    return _chat(services.join_conversation(chat_id, agent=request.auth))


class ChatMessageIn(Schema):
    body: str = Field(
        "", max_length=services.MAX_BODY, description="May be empty when files are attached"
    )
    client_id: str = Field(..., min_length=1, max_length=services.MAX_CLIENT_ID)
    attachment_ids: list[int] = Field(
        default_factory=list,
        max_length=20,
        description="Files from POST /api/v1/uploads (or already in this chat)",
    )


@router.post("/chats/{chat_id}/messages", response={200: ChatMessageOut, 201: ChatMessageOut})
def post_chat_message(
    request: AgentRequest, chat_id: int, payload: ChatMessageIn
) -> Status[dict[str, Any]]:
    get_object_or_404(Conversation, pk=chat_id)
    try:
        message, created = services.post_message(
            chat_id,
            author_type=ChatAuthorType.AGENT,
            body=payload.body,
            client_id=payload.client_id,
            author_user=request.auth,
            attachment_ids=payload.attachment_ids,
        )
    except services.ChatError as error:
        raise ApiError(422, str(error), error.code) from None
    return Status(201 if created else 200, dict(events.message_frame(message)))


class TransferIn(Schema):
    to_user_id: int | None = Field(None, description="Hand the chat to this agent")
    to_team_id: int | None = Field(
        None, description="Or hand it to a team: it waits in the queue for (auto: goes to) them"
    )


@router.post("/chats/{chat_id}/transfer", response=ChatOut)
def transfer_chat(request: AgentRequest, chat_id: int, payload: TransferIn) -> dict[str, Any]:
    from accounts.models import User
    from teams.models import Team

    get_object_or_404(Conversation, pk=chat_id)
    if (payload.to_user_id is None) == (payload.to_team_id is None):
        raise ApiError(422, "Give to_user_id or to_team_id (one of them)", "invalid")
    try:
        if payload.to_team_id is not None:
            team = get_object_or_404(Team, pk=payload.to_team_id)
            return _chat(services.transfer_to_team(chat_id, team=team, by=request.auth))
        to = get_object_or_404(User, pk=payload.to_user_id, is_active=True)
        return _chat(services.transfer_conversation(chat_id, to=to, by=request.auth))
    except services.ChatError as error:
        raise ApiError(409, str(error), error.code) from None


@router.post("/chats/{chat_id}/end", response=ChatOut)
def end_chat(request: AgentRequest, chat_id: int) -> dict[str, Any]:
    get_object_or_404(Conversation, pk=chat_id)
    return _chat(services.end_conversation(chat_id, by=request.auth))


class EscalateIn(Schema):
    email: str = Field("", max_length=254)
    note: str = Field("", max_length=100_000)
    follow_up_at: datetime | Literal["next_business_morning"] | None = Field(
        None,
        description="When the follow-up email goes: an ISO 8601 time with its offset, or "
        '"next_business_morning" (the first opening after today under the business hours)',
    )


class EscalateOut(Schema):
    ticket_id: int
    reference: str


@router.post("/chats/{chat_id}/escalate", response={201: EscalateOut})
def escalate_chat(
    request: AgentRequest, chat_id: int, payload: EscalateIn
) -> Status[dict[str, Any]]:
    get_object_or_404(Conversation, pk=chat_id)
    if payload.email and "@" not in payload.email:
        raise ApiError(422, "email: not an email address", "invalid")
    follow_up_at = (
        business_hours.next_business_morning()
        if isinstance(payload.follow_up_at, str)  # the one string it takes: "next_business_morning"
        else payload.follow_up_at
    )
    if isinstance(follow_up_at, datetime) and follow_up_at.tzinfo is None:
        raise ApiError(422, "follow_up_at must include a timezone", "naive_datetime")
    try:
        ticket = services.escalate_to_email(
            chat_id,
            by=request.auth,
            email=payload.email,
            note=payload.note,
            follow_up_at=follow_up_at,
        )
    except services.ChatError as error:
        raise ApiError(422, str(error), error.code) from None
    return Status(201, {"ticket_id": ticket.pk, "reference": ticket.reference})
