"""Realtime payloads of live chat: every frame a chat socket sends, as the contract spells it, and
the groups they go to. Consumers and services build frames only here.

Group events carry a ready-made `frame`; consumers forward it as JSON without touching it.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from attachments.services import as_json as attachment_json

QUEUE_GROUP = "chat-queue"
# Every chat group starts with this; its members catch up from the database on a resync
# (core.realtime.resync_groups, registered in LivechatConfig.ready()).
GROUP_PREFIX = "chat-"


def chat_group(conversation_id: int) -> str:
    return f"{GROUP_PREFIX}{conversation_id}"


def conversation_of(group: str) -> int | None:
    """The conversation of a chat group; None for the queue (or anything else)."""
    tail = group.removeprefix(GROUP_PREFIX)
    return int(tail) if tail != group and tail.isdigit() else None


class Author(TypedDict):
    type: str  # "visitor" | "agent" | "system"
    name: str
    trainee: NotRequired[bool]  # present (true) on lines written by a trainee


class MessageFrame(TypedDict):
    type: Literal["message"]
    conversation_id: int
    seq: int
    id: int
    client_id: str
    author: Author
    body: str
    sent_at: str
    # Present when the line carries files: [{id, filename, content_type, size, url, thumbnail_url}]
    attachments: NotRequired[list[dict[str, Any]]]


class AckFrame(TypedDict):
    """To the sender only, once its line is committed."""

    type: Literal["ack"]
    conversation_id: int
    client_id: str
    seq: int
    id: int


class SyncFrame(TypedDict):
    """After a channel-layer blip: the conversation's last seq. A client that has less sends
    `resume` from its own last seq (the widget and the console do)."""

    type: Literal["sync"]
    conversation_id: int
    last_seq: int


class TypingFrame(TypedDict):
    type: Literal["typing"]
    conversation_id: int
    author: Author


class ReadFrame(TypedDict):
    type: Literal["read"]
    conversation_id: int
    seq: int
    author: Author


class EndedFrame(TypedDict):
    type: Literal["ended"]
    conversation_id: int


class ConversationSummary(TypedDict):
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
    created_at: str
    team_id: int | None
    team: str | None  # the team's name


class QueueFrame(TypedDict):
    type: Literal["queue"]
    # "waiting" | "joined" | "transferred" | "ended" | "escalated" | "verified" | "assigned" |
    # "requeued"
    action: str
    conversation: ConversationSummary
    # On a visitor's new line in a waiting chat: its first PREVIEW_CHARS characters, which the
    # console shows under the visitor's name (it fetched the chat for every line before).
    preview: NotRequired[str]


class QueueBatchFrame(TypedDict):
    # Queue frames batched per process (livechat/queue_previews.py): the newest preview of each
    # waiting chat in the last tenth of a second, in one frame; the console applies them in order.
    type: Literal["queue.batch"]
    frames: list[QueueFrame]


class VisitorHelloFrame(TypedDict):
    type: Literal["hello"]
    conversation_id: int
    last_seq: int
    status: str
    agents_online: bool


class AgentHelloFrame(TypedDict):
    type: Literal["hello"]
    user: dict[str, Any]  # {"id", "name"}
    queue: list[ConversationSummary]


class TokenFrame(TypedDict):
    type: Literal["token"]
    visitor_token: str


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    detail: str
    client_id: NotRequired[Any]  # the client_id of the refused frame, when it had one


class HeartbeatFrame(TypedDict):
    type: Literal["heartbeat"]
    status: str


class PongFrame(TypedDict):
    type: Literal["pong"]


def message_frame(message: Any) -> MessageFrame:
    author: Author = {"type": message.author_type, "name": message.author_name}
    if message.author_trainee:
        author["trainee"] = True  # only when true: frames of everyone else stay as they were
    frame: MessageFrame = {
        "type": "message",
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "id": message.pk,
        "client_id": message.client_id,
        "author": author,
        "body": message.body,
        "sent_at": message.sent_at.isoformat(),
    }
    files = _files(message)
    if files:
        frame["attachments"] = [attachment_json(a) for a in files]
    return frame


def _files(message: Any) -> list[Any]:
    """The line's files: bound with it just now (`files`), or prefetched (replay, the API)."""
    files = getattr(message, "files", None)
    if files is not None:
        return list(files)
    cache = getattr(message, "_prefetched_objects_cache", {})
    return list(cache["attachments"]) if "attachments" in cache else []


def ack_frame(message: Any) -> AckFrame:
    return {
        "type": "ack",
        "conversation_id": message.conversation_id,
        "client_id": message.client_id,
        "seq": message.seq,
        "id": message.pk,
    }


def sync_frame(conversation_id: int, last_seq: int) -> SyncFrame:
    return {"type": "sync", "conversation_id": conversation_id, "last_seq": last_seq}


def typing_frame(conversation_id: int, *, author_type: str, name: str) -> TypingFrame:
    return {
        "type": "typing",
        "conversation_id": conversation_id,
        "author": {"type": author_type, "name": name},
    }


def read_frame(conversation_id: int, seq: int, *, author_type: str, name: str) -> ReadFrame:
    return {
        "type": "read",
        "conversation_id": conversation_id,
        "seq": seq,
        "author": {"type": author_type, "name": name},
    }


def ended_frame(conversation_id: int) -> EndedFrame:
    return {"type": "ended", "conversation_id": conversation_id}


def conversation_summary(conversation: Any) -> ConversationSummary:
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "visitor_name": conversation.visitor_display_name,
        "visitor_email": conversation.visitor_email,
        "verified": conversation.verified,
        "customer_id": conversation.customer_id,
        "assignee_id": conversation.assignee_id,
        "last_seq": conversation.last_seq,
        "ticket_id": conversation.ticket_id,
        "page_url": conversation.page_url,
        "created_at": conversation.created_at.isoformat(),
        "team_id": conversation.team_id,
        # Callers off the ORM thread set `team` on the row first (livechat.services._stored).
        "team": conversation.team.name if conversation.team_id is not None else None,
    }


PREVIEW_CHARS = 140


def queue_frame(conversation: Any, action: str, *, preview: str | None = None) -> QueueFrame:
    return summary_queue_frame(conversation_summary(conversation), action, preview=preview)


def summary_queue_frame(
    summary: ConversationSummary, action: str, *, preview: str | None = None
) -> QueueFrame:
    """A queue frame from a summary already made (livechat.services.StoredLine.summary)."""
    frame: QueueFrame = {"type": "queue", "action": action, "conversation": summary}
    if preview is not None:
        frame["preview"] = preview[:PREVIEW_CHARS]
    return frame


def queue_batch_frame(frames: list[QueueFrame]) -> QueueBatchFrame:
    return {"type": "queue.batch", "frames": frames}


def visitor_hello_frame(conversation: Any, *, agents_online: bool) -> VisitorHelloFrame:
    return {
        "type": "hello",
        "conversation_id": conversation.pk,
        "last_seq": conversation.last_seq,
        "status": conversation.status,
        "agents_online": agents_online,
    }


def agent_hello_frame(user: Any, queue: list[ConversationSummary]) -> AgentHelloFrame:
    return {"type": "hello", "user": {"id": user.pk, "name": user.display_name}, "queue": queue}


def token_frame(visitor_token: str) -> TokenFrame:
    return {"type": "token", "visitor_token": visitor_token}


def error_frame(code: str, detail: str, **extra: Any) -> ErrorFrame:
    frame: ErrorFrame = {"type": "error", "code": code, "detail": detail}
    if "client_id" in extra:
        frame["client_id"] = extra["client_id"]
    return frame


def heartbeat_frame(status: str) -> HeartbeatFrame:
    return {"type": "heartbeat", "status": status}


def pong_frame() -> PongFrame:
    return {"type": "pong"}


def group_event(frame: Any) -> dict[str, Any]:
    """Wrap a frame for the channel layer; every chat consumer handles it in `chat_frame`."""
    return {"type": "chat.frame", "frame": dict(frame)}
