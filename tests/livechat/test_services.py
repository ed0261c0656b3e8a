from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from livechat import events, services
from livechat.models import ChatMessage, Conversation, ConversationStatus


@pytest.fixture
def conversation(db) -> Conversation:
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    return conversation


def test_messages_get_consecutive_seqs(conversation):
    seqs = [
        services.post_message(conversation.pk, author_type="visitor", body=f"hi {n}")[0].seq
        for n in range(5)
    ]
    assert seqs == [1, 2, 3, 4, 5]
    conversation.refresh_from_db()
    assert conversation.last_seq == 5


def test_resend_with_same_client_id_stores_once(conversation):
    first, created = services.post_message(
        conversation.pk, author_type="visitor", body="hello", client_id="c-1"
    )
    again, created_again = services.post_message(
        conversation.pk, author_type="visitor", body="hello", client_id="c-1"
    )
    assert created and not created_again
    assert again.pk == first.pk and again.seq == first.seq == 1
    assert ChatMessage.objects.filter(conversation=conversation).count() == 1
    conversation.refresh_from_db()
    assert conversation.last_seq == 1  # the resend did not burn a number


def test_the_same_client_id_in_another_conversation_is_another_message(conversation):
    other, _ = services.start_session(name="Ann", email="ann@shop.example")
    a, _ = services.post_message(conversation.pk, author_type="visitor", body="x", client_id="c")
    b, _ = services.post_message(other.pk, author_type="visitor", body="x", client_id="c")
    assert a.pk != b.pk


def test_too_long_and_empty_bodies_are_refused(conversation):
    with pytest.raises(services.ChatError) as too_long:
        services.post_message(conversation.pk, author_type="visitor", body="x" * 5001)
    assert too_long.value.code == "too_large"
    with pytest.raises(services.ChatError) as empty:
        services.post_message(conversation.pk, author_type="visitor", body="   ")
    assert empty.value.code == "empty_body"


def test_message_frame_has_the_contract_fields(conversation, cast):
    message, _ = services.post_message(
        conversation.pk, author_type="agent", body="Hi Ben", client_id="a-1", author_user=cast.alice
    )
    frame = events.message_frame(message)
    assert frame == {
        "type": "message",
        "conversation_id": conversation.pk,
        "seq": 1,
        "id": message.pk,
        "client_id": "a-1",
        "author": {"type": "agent", "name": "Alice Agent"},
        "body": "Hi Ben",
        "sent_at": message.sent_at.isoformat(),
    }


def test_message_is_published_only_after_commit(conversation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.post_message(conversation.pk, author_type="visitor", body="hi", client_id="c")
    # One for the conversation group, one for the agents' queue (a visitor is waiting), and the
    # `chat_waiting` hook (routing offers the chat; nothing to do in manual mode).
    assert len(callbacks) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_get_distinct_seqs():
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                services.post_message(
                    conversation.pk, author_type="visitor", body="x", client_id=f"{n}-{i}"
                )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = sorted(
        ChatMessage.objects.filter(conversation=conversation).values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 41))


@pytest.mark.django_db(transaction=True)
def test_concurrent_resends_of_one_client_id_store_once():
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    results: list[tuple[int, bool]] = []

    def writer() -> None:
        try:
            message, created = services.post_message(
                conversation.pk, author_type="visitor", body="same", client_id="dup"
            )
            results.append((message.seq, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(1, False)] * 5 + [(1, True)]
    assert ChatMessage.objects.filter(conversation=conversation).count() == 1


def test_visitor_token_round_trips_and_rejects_tampering(conversation):
    token = services.issue_visitor_token(conversation)
    identity = services.read_visitor_token(token)
    assert identity == services.VisitorIdentity(conversation.pk, "ben@shop.example", False)
    assert services.read_visitor_token(token[:-2] + "xx") is None
    assert services.read_visitor_token(token, max_age=-1) is None


def test_session_with_token_continues_the_same_conversation(conversation):
    token = services.issue_visitor_token(conversation)
    again, _ = services.start_session(name="Ben", email="", visitor_token=token)
    assert again.pk == conversation.pk
    services.end_conversation(conversation.pk)
    fresh, _ = services.start_session(name="Ben", email="", visitor_token=token)
    assert fresh.pk != conversation.pk


def test_user_hash_verifies_the_email(db, settings):
    settings.SUPPORTDESK_WIDGET_SECRET = "s3cret"
    good = services.expected_user_hash("ben@shop.example")
    conversation, _ = services.start_session(name="Ben", email="Ben@Shop.example", user_hash=good)
    assert conversation.verified
    with pytest.raises(services.ChatError) as bad:
        services.start_session(name="Ben", email="ben@shop.example", user_hash="0" * 64)
    assert bad.value.code == "bad_user_hash"


def test_join_assigns_and_announces(conversation, cast):
    services.post_message(conversation.pk, author_type="visitor", body="hello")
    joined = services.join_conversation(conversation.pk, agent=cast.alice)
    assert joined.status == ConversationStatus.ACTIVE and joined.assignee_id == cast.alice.pk
    last = ChatMessage.objects.filter(conversation=conversation).order_by("-seq").first()
    assert last.author_type == "system" and "Alice Agent joined" in last.body
    # A second agent joining does not take the chat over.
    again = services.join_conversation(conversation.pk, agent=cast.bob)
    assert again.assignee_id == cast.alice.pk


def test_presence_follows_open_sockets(cast):
    assert not services.agents_available()
    services.agent_connected(cast.alice)
    services.agent_connected(cast.alice)
    assert services.agents_available()
    services.agent_disconnected(cast.alice)
    assert services.agents_available()  # the second tab is still open
    services.agent_heartbeat(cast.alice, status="away")
    assert not services.agents_available()
    assert [p.user_id for p in services.online_agents()] == [cast.alice.pk]
    services.agent_disconnected(cast.alice)
    assert services.online_agents() == []


def test_agent_reply_after_the_visitor_left_goes_by_email(
    conversation, cast, smtp_sink, eager_celery, django_capture_on_commit_callbacks
):
    services.post_message(conversation.pk, author_type="visitor", body="Do you have size 43?")
    services.join_conversation(conversation.pk, agent=cast.alice)
    services.end_conversation(conversation.pk)  # the visitor closed the page
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(
            conversation.pk,
            author_type="agent",
            body="Size 43 is back in stock tomorrow.",
            client_id="late",
            author_user=cast.alice,
        )
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "ben@shop.example"
    assert "back in stock tomorrow" in mail.get_body(("plain",)).get_content()
    conversation.refresh_from_db()
    assert conversation.ticket is not None and conversation.status == ConversationStatus.ENDED

    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(
            conversation.pk, author_type="agent", body="PS: free shipping.", author_user=cast.alice
        )
    assert len(smtp_sink.wait_for(2)) == 2  # the same ticket, threaded
    assert conversation.ticket.messages.filter(body_text="PS: free shipping.").exists()


def test_unanswered_chat_emails_the_assignee_once_when_nobody_is_online(
    conversation, cast, smtp_sink, eager_celery, django_capture_on_commit_callbacks
):
    import time_machine

    services.join_conversation(conversation.pk, agent=cast.alice)
    services.post_message(conversation.pk, author_type="visitor", body="Hello? Anyone?")
    assert services.notify_unanswered_chats() == 0  # too fresh to nag anyone
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.notify_unanswered_chats() == 1
        services.post_message(conversation.pk, author_type="visitor", body="Still there?")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert services.notify_unanswered_chats() == 0  # no bursts
    [mail] = smtp_sink.wait_for(1)
    assert (
        mail["To"] == "alice@example.com"
        and "Hello? Anyone?" in mail.get_body(("plain",)).get_content()
    )

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        services.agent_connected(cast.bob)
        assert services.notify_unanswered_chats() == 0  # someone is online: the queue shows it
