"""Automatic routing in one process: who gets a new chat, what waits, and what frees it."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from livechat import routing, services
from livechat.models import AgentPresence, Conversation, ConversationStatus
from teams import services as team_services
from tests import factories


@pytest.fixture
def auto(settings):
    settings.SUPPORTDESK_CHAT_ROUTING = "auto"
    settings.SUPPORTDESK_CHAT_ROUTING_GRACE_SECONDS = 60


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a step as if it committed: its after-commit reactions (routing) run too."""

    @contextmanager
    def step():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return step


def online(agent, committed) -> None:
    with committed():
        services.agent_connected(agent)


def new_chat(
    committed, name: str = "Ben", *, team: str = "", page_url: str = "", language: str = ""
) -> Conversation:
    conversation, _ = services.start_session(
        name=name,
        email=f"{name.lower()}@shop.example",
        team=team,
        page_url=page_url,
        language=language,
    )
    with committed():
        services.post_message(conversation.pk, author_type="visitor", body="Where is my parcel?")
    conversation.refresh_from_db()
    return conversation


def lines(conversation: Conversation) -> list[str]:
    return list(conversation.messages.order_by("seq").values_list("body", flat=True))


def test_manual_mode_leaves_the_chat_in_the_queue(cast, committed, settings):
    settings.SUPPORTDESK_CHAT_ROUTING = "manual"
    online(cast.alice, committed)
    chat = new_chat(committed)
    assert chat.assignee_id is None and chat.status == ConversationStatus.WAITING
    assert lines(chat) == ["Where is my parcel?"]


def test_a_new_chat_goes_to_the_online_agent_and_the_visitor_sees_their_name(
    cast, auto, committed, published
):
    online(cast.alice, committed)
    frames = [e["frame"] for e in published(["chat-queue"], lambda: new_chat(committed))]
    chat = Conversation.objects.get()
    assert chat.assignee == cast.alice
    # Assigned but not answered: still waiting (so it can be re-queued if Alice goes away).
    assert chat.status == ConversationStatus.WAITING
    assert lines(chat) == ["Where is my parcel?", "Alice Agent will be with you in a moment."]
    assigned = [f for f in frames if f.get("action") == "assigned"]
    assert assigned and assigned[-1]["conversation"]["assignee_id"] == cast.alice.pk
    assert AuditEntry.objects.filter(action="chat.assigned", object_id=str(chat.pk)).count() == 1


def test_the_visitor_reads_who_is_coming_in_their_own_language(cast, auto, committed):
    online(cast.alice, committed)
    spanish = new_chat(committed, "Ana", language="es")
    assert lines(spanish)[-1] == "Alice Agent te atenderá en un momento."
    german = new_chat(committed, "Jonas", language="de")
    assert lines(german)[-1] == "Alice Agent ist gleich für dich da."


def test_least_busy_first_and_ties_take_turns(cast, auto, committed):
    online(cast.alice, committed)
    online(cast.bob, committed)
    first, second, third, fourth = (new_chat(committed, n) for n in ("Ann", "Ben", "Cy", "Di"))
    owners = [c.assignee_id for c in (first, second, third, fourth)]
    # Each takes one before anyone takes a second; then the one given a chat longest ago.
    assert owners[0] != owners[1] and owners[2] != owners[3]
    assert sorted(owners) == sorted([cast.alice.pk, cast.bob.pk] * 2)
    assert owners[2] == owners[0]  # round-robin: the earlier one's turn again


def test_a_full_agent_gets_no_more_and_the_chat_waits_until_one_ends(cast, auto, committed):
    cast.alice.max_chats = 1
    cast.alice.save()
    online(cast.alice, committed)
    first = new_chat(committed, "Ann")
    second = new_chat(committed, "Ben")
    assert first.assignee == cast.alice and second.assignee_id is None
    with committed():
        services.end_conversation(first.pk, by=cast.alice)
    second.refresh_from_db()
    assert second.assignee == cast.alice


def test_an_agent_coming_online_or_getting_more_room_is_offered_the_queue(cast, auto, committed):
    chat = new_chat(committed)
    assert chat.assignee_id is None  # nobody online
    cast.bob.max_chats = 0
    cast.bob.save()
    online(cast.bob, committed)
    chat.refresh_from_db()
    assert chat.assignee_id is None  # online, but no room
    with committed():
        team_services.set_max_chats(cast.bob, max_chats=2, by=cast.carol)
    chat.refresh_from_db()
    assert chat.assignee == cast.bob


def test_back_from_away_is_offered_the_queue(cast, auto, committed):
    online(cast.alice, committed)
    with committed():
        services.agent_heartbeat(cast.alice, status="away")
    chat = new_chat(committed)
    assert chat.assignee_id is None  # away agents get nothing
    with committed():
        services.agent_heartbeat(cast.alice, status="online")
    chat.refresh_from_db()
    assert chat.assignee == cast.alice


def test_a_team_chat_goes_only_to_that_team(cast, auto, committed):
    team_services.create_team(name="Returns", member_ids=[cast.bob.pk], by=cast.carol)
    online(cast.alice, committed)
    chat = new_chat(committed, team="returns")
    assert chat.team.slug == "returns" and chat.assignee_id is None  # alice is not in Returns
    online(cast.bob, committed)
    chat.refresh_from_db()
    assert chat.assignee == cast.bob
    # A chat with no team goes to anyone online.
    assert new_chat(committed, "Cy").assignee_id in (cast.alice.pk, cast.bob.pk)


def test_transfer_to_a_team_goes_to_a_free_member(cast, auto, committed):
    wholesale = team_services.create_team(
        name="Wholesale", member_ids=[cast.bob.pk], page_prefixes=["/wholesale/"], by=cast.carol
    )
    online(cast.alice, committed)
    chat = new_chat(committed)
    assert chat.assignee == cast.alice
    online(cast.bob, committed)
    with committed():
        services.transfer_to_team(chat.pk, team=wholesale, by=cast.alice)
    chat.refresh_from_db()
    assert chat.team == wholesale and chat.assignee == cast.bob


def test_the_agents_first_line_answers_the_chat(cast, auto, committed):
    online(cast.alice, committed)
    chat = new_chat(committed)
    with committed():
        services.post_message(chat.pk, author_type="agent", body="Hi Ben!", author_user=cast.alice)
    chat.refresh_from_db()
    assert chat.status == ConversationStatus.ACTIVE and chat.joined_at is not None


def test_unanswered_chats_of_an_agent_gone_past_the_grace_period_are_requeued(
    cast, auto, committed
):
    online(cast.alice, committed)
    waiting = new_chat(committed, "Ann")
    answered = new_chat(committed, "Ben")
    assert waiting.assignee == answered.assignee == cast.alice
    with committed():
        services.post_message(answered.pk, author_type="agent", body="Hi!", author_user=cast.alice)
        services.agent_heartbeat(cast.alice, status="away")
    online(cast.bob, committed)  # Bob is free, but Alice's grace period has not run out
    with committed():
        assert routing.requeue_unanswered() == 0
    AgentPresence.objects.filter(user=cast.alice).update(
        away_since=timezone.now() - timedelta(seconds=61)
    )
    with committed():
        assert routing.requeue_unanswered() == 1
    waiting.refresh_from_db()
    answered.refresh_from_db()
    assert waiting.assignee == cast.bob  # re-queued, then offered to the free agent
    assert answered.assignee == cast.alice and answered.status == ConversationStatus.ACTIVE
    assert "Sorry for the wait: the next free agent will answer you." in lines(waiting)


def test_a_silent_process_counts_as_gone_too(cast, auto, committed):
    online(cast.alice, committed)
    chat = new_chat(committed)
    stale = timezone.now() - services.PRESENCE_TTL - timedelta(seconds=61)
    AgentPresence.objects.filter(user=cast.alice).update(last_seen=stale)
    with committed():
        assert routing.sweep() == 1
    chat.refresh_from_db()
    assert chat.assignee_id is None  # nobody else online: it waits in the queue


def test_the_chat_started_hook_fires_once_with_the_first_visitor_line(cast, committed):
    from core import hooks

    seen = []

    def receiver(*, conversation, agents_online):
        seen.append((conversation.pk, agents_online))

    hooks.chat_started.register(receiver)
    try:
        chat = new_chat(committed)
        services.post_message(chat.pk, author_type="visitor", body="Hello?")
    finally:
        hooks.chat_started.unregister(receiver)
    assert seen == [(chat.pk, False)]


def test_factories_agent_default_capacity(db):
    assert factories.AgentFactory().max_chats == 3
