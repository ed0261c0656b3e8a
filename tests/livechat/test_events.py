"""Every frame a chat socket sends has one builder in livechat/events.py; the ones published to
the channel layer are checked as they come out of the real layer after the service that sends
them, the others field by field."""

from __future__ import annotations

import pytest

from core.realtime import resync_event
from livechat import events, services
from livechat.models import ChatMessage, Conversation

SUMMARY_FIELDS = {
    "id",
    "status",
    "visitor_name",
    "visitor_email",
    "verified",
    "customer_id",
    "assignee_id",
    "last_seq",
    "ticket_id",
    "page_url",
    "created_at",
    "team_id",
    "team",
}


@pytest.fixture
def chat(db) -> Conversation:
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    return conversation


def _frames(caught: list[dict]) -> list[dict]:
    assert {event["type"] for event in caught} <= {"chat.frame"}
    return [event["frame"] for event in caught]


def test_a_visitor_line_in_a_waiting_chat_publishes_the_message_and_the_queue_entry(
    chat, published
):
    caught = published(
        [events.chat_group(chat.pk), events.QUEUE_GROUP],
        lambda: services.post_message(
            chat.pk, author_type="visitor", body="Where are my shoes?", client_id="v1"
        ),
    )
    message, queued = _frames(caught)
    row = ChatMessage.objects.get(conversation=chat, client_id="v1")
    assert message == {
        "type": "message",
        "conversation_id": chat.pk,
        "seq": 1,
        "id": row.pk,
        "client_id": "v1",
        "author": {"type": "visitor", "name": "Ben"},
        "body": "Where are my shoes?",
        "sent_at": row.sent_at.isoformat(),
    }
    # `attachments` appears only on lines that carry files (tests/attachments checks it).
    assert set(message) == set(events.MessageFrame.__annotations__) - {"attachments"}
    assert (queued["type"], queued["action"]) == ("queue", "waiting")
    assert set(queued["conversation"]) == SUMMARY_FIELDS
    assert queued["conversation"] == {
        **events.conversation_summary(Conversation.objects.get(pk=chat.pk)),
        "verified": False,
    }
    assert queued["conversation"]["last_seq"] == 1
    # The console shows the line under the visitor's name without fetching the chat.
    assert queued["preview"] == "Where are my shoes?"


def test_a_long_line_previews_its_first_140_characters_in_the_queue(chat, published):
    body = "My order of the oxfords in size 44 " * 10
    caught = published(
        [events.QUEUE_GROUP],
        lambda: services.post_message(chat.pk, author_type="visitor", body=body, client_id="v2"),
    )
    [queued] = _frames(caught)
    assert queued["preview"] == body[:140]


def test_a_trainee_line_carries_the_trainee_flag_and_no_queue_entry(chat, cast, published):
    services.join_conversation(chat.pk, agent=cast.alice)
    cast.bob.is_trainee = True
    caught = published(
        [events.chat_group(chat.pk), events.QUEUE_GROUP],
        lambda: services.post_message(
            chat.pk, author_type="agent", body="Hi!", client_id="a1", author_user=cast.bob
        ),
    )
    [message] = _frames(caught)
    assert message["author"] == {"type": "agent", "name": "Bob Builder", "trainee": True}


def test_joining_ending_and_escalating_publish_queue_actions_and_the_ended_frame(
    chat, cast, published, smtp_sink, settings
):
    chat_group, queue = events.chat_group(chat.pk), events.QUEUE_GROUP
    joined = _frames(
        published([queue], lambda: services.join_conversation(chat.pk, agent=cast.alice))
    )
    assert [(f["type"], f["action"], f["conversation"]["assignee_id"]) for f in joined] == [
        ("queue", "joined", cast.alice.pk)
    ]
    ended = _frames(
        published([chat_group, queue], lambda: services.end_conversation(chat.pk, by=cast.alice))
    )
    assert [f["type"] for f in ended] == ["message", "queue", "ended"]
    assert (ended[0]["author"], ended[0]["body"]) == (
        {"type": "system", "name": settings.SUPPORTDESK_COMPANY_NAME},
        "Alice Agent ended the chat.",
    )
    assert ended[1]["action"] == "ended" and ended[1]["conversation"]["status"] == "ended"
    assert ended[2] == {"type": "ended", "conversation_id": chat.pk}
    escalated = _frames(
        published([queue], lambda: services.escalate_to_email(chat.pk, by=cast.alice))
    )
    assert [(f["action"], f["conversation"]["ticket_id"] is not None) for f in escalated] == [
        ("escalated", True)
    ]


def test_frames_sent_to_one_socket_have_the_contract_fields(chat, cast):
    message, _ = services.post_message(chat.pk, author_type="visitor", body="Hi", client_id="c")
    assert events.ack_frame(message) == {
        "type": "ack",
        "conversation_id": chat.pk,
        "client_id": "c",
        "seq": 1,
        "id": message.pk,
    }
    assert events.sync_frame(chat.pk, 7) == {
        "type": "sync",
        "conversation_id": chat.pk,
        "last_seq": 7,
    }
    assert events.typing_frame(chat.pk, author_type="visitor", name="Ben") == {
        "type": "typing",
        "conversation_id": chat.pk,
        "author": {"type": "visitor", "name": "Ben"},
    }
    assert events.read_frame(chat.pk, 1, author_type="agent", name="Alice Agent") == {
        "type": "read",
        "conversation_id": chat.pk,
        "seq": 1,
        "author": {"type": "agent", "name": "Alice Agent"},
    }
    chat.refresh_from_db()
    assert events.visitor_hello_frame(chat, agents_online=False) == {
        "type": "hello",
        "conversation_id": chat.pk,
        "last_seq": 1,
        "status": "waiting",
        "agents_online": False,
    }
    hello = events.agent_hello_frame(cast.alice, [events.conversation_summary(chat)])
    assert hello["user"] == {"id": cast.alice.pk, "name": "Alice Agent"}
    assert set(hello["queue"][0]) == SUMMARY_FIELDS
    assert events.token_frame("t") == {"type": "token", "visitor_token": "t"}
    assert events.error_frame("invalid", "No") == {
        "type": "error",
        "code": "invalid",
        "detail": "No",
    }
    assert events.error_frame("rate_limited", "Slow", client_id="c")["client_id"] == "c"
    assert events.heartbeat_frame("away") == {"type": "heartbeat", "status": "away"}
    assert events.pong_frame() == {"type": "pong"}
    assert events.ended_frame(chat.pk) == {"type": "ended", "conversation_id": chat.pk}
    assert resync_event(["chat-2", "chat-1"]) == {
        "type": "realtime.resync",
        "groups": ["chat-1", "chat-2"],
    }
    assert events.conversation_of(events.chat_group(12)) == 12
    assert events.conversation_of(events.QUEUE_GROUP) is None
