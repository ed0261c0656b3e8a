"""Realtime payloads of live chat: frames as the contract spells them, and the groups they go to.

Group events carry a ready-made `frame`; consumers forward it as JSON without touching it.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

QUEUE_GROUP = "chat-queue"


def chat_group(conversation_id: int) -> str:
    return f"chat-{conversation_id}"


class Author(TypedDict):
    type: str
    name: str
    trainee: NotRequired[bool]  # present (true) on lines written by a trainee


class MessageFrame(TypedDict):
    type: str  # "message"
    conversation_id: int
    seq: int
    id: int
    client_id: str
    author: Author
    body: str
    sent_at: str


class QueueFrame(TypedDict):
    type: str  # "queue"
    action: str  # "waiting" | "joined" | "transferred" | "ended" | "escalated"
    conversation: dict[str, Any]


def message_frame(message: Any) -> MessageFrame:
    author: Author = {"type": message.author_type, "name": message.author_name}
    if message.author_trainee:
        author["trainee"] = True  # only when true: frames of everyone else stay as they were
    return {
        "type": "message",
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "id": message.pk,
        "client_id": message.client_id,
        "author": author,
        "body": message.body,
        "sent_at": message.sent_at.isoformat(),
    }


def conversation_summary(conversation: Any) -> dict[str, Any]:
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
    }


def queue_frame(conversation: Any, action: str) -> QueueFrame:
    return {"type": "queue", "action": action, "conversation": conversation_summary(conversation)}


def group_event(frame: Any) -> dict[str, Any]:
    """Wrap a frame for `group_send`; every consumer handles it in `chat_frame`."""
    return {"type": "chat.frame", "frame": dict(frame)}
