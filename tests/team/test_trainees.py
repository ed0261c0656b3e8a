"""Scenario 7 for a new hire: shadow a live chat read-only, then answer with a "trainee" badge;
a lead watches any chat, also one assigned to someone else. Real daphne and Redis."""

from __future__ import annotations

from accounts.services import issue_api_token
from livechat import events
from livechat import services as chat
from livechat.models import ChatMessage, Conversation
from tests import factories
from tests.helpers.browser import login
from tests.helpers.chat import ChatClient, post_json, run


async def _agent(server, token: str) -> ChatClient:
    client = await ChatClient.open(
        f"{server.ws_url}/ws/agent/",
        origin=server.url,
        headers={"Authorization": f"Bearer {token}"},
    )
    await client.next(lambda f: f["type"] == "hello")
    return client


def test_trainee_shadows_then_answers_with_a_badge_while_a_lead_watches(live_server, cast):
    tina = factories.AgentFactory(name="Tina Trainee", is_trainee=True)
    status, session = post_json(
        f"{live_server.url}/api/v1/widget/sessions",
        {"name": "Sam", "email": "sam@shop.example", "page_url": f"{live_server.url}/demo/shop/"},
    )
    assert status == 201
    conversation_id = session["conversation_id"]
    alice_token, tina_token = issue_api_token(cast.alice), issue_api_token(tina)
    carol_token = issue_api_token(cast.carol)

    def is_message(body: str):
        return lambda f: f["type"] == "message" and f.get("body") == body

    async def scenario() -> None:
        visitor = await ChatClient.open(
            f"{live_server.ws_url}/ws/chat/?token={session['visitor_token']}",
            origin=live_server.url,
        )
        await visitor.next(lambda f: f["type"] == "hello")
        alice = await _agent(live_server, alice_token)
        tina = await _agent(live_server, tina_token)
        carol = await _agent(live_server, carol_token)

        await visitor.send({"type": "message", "client_id": "v1", "body": "Shoes went astray"})
        await alice.send({"type": "join", "conversation_id": conversation_id})
        await alice.next(is_message("Shoes went astray"))

        # The trainee shadows Alice's chat, and Carol (a manager) watches it too.
        await tina.send({"type": "watch", "conversation_id": conversation_id})
        await carol.send({"type": "watch", "conversation_id": conversation_id})
        await tina.next(is_message("Shoes went astray"))
        await carol.next(is_message("Shoes went astray"))
        await alice.send(
            {
                "type": "message",
                "conversation_id": conversation_id,
                "client_id": "a1",
                "body": "Rerouting a pair now",
            }
        )
        seen_by_tina = await tina.next(is_message("Rerouting a pair now"))
        assert seen_by_tina["author"] == {"type": "agent", "name": "Alice Agent"}
        await carol.next(is_message("Rerouting a pair now"))

        # Shadowing is read-only: a message, typing or reading needs joining first.
        await tina.send(
            {"type": "message", "conversation_id": conversation_id, "client_id": "t0", "body": "x"}
        )
        refused = await tina.next(lambda f: f["type"] == "error")
        assert refused["code"] == "not_joined" and refused["client_id"] == "t0"

        # Then the trainee answers: the line carries the badge for everyone in the chat.
        await tina.send({"type": "join", "conversation_id": conversation_id})
        await tina.send(
            {
                "type": "message",
                "conversation_id": conversation_id,
                "client_id": "t1",
                "body": "They arrive by 9 tomorrow",
            }
        )
        ack = await tina.next(lambda f: f["type"] == "ack")
        assert ack["client_id"] == "t1"
        for watcher in (alice, carol):
            line = await watcher.next(is_message("They arrive by 9 tomorrow"))
            assert line["author"] == {"type": "agent", "name": "Tina Trainee", "trainee": True}
        await visitor.next(is_message("They arrive by 9 tomorrow"))
        for client in (visitor, alice, tina, carol):
            await client.close()

    run(scenario())
    # Joining an active chat helps without taking it over: it stays Alice's.
    assert Conversation.objects.get(pk=conversation_id).assignee_id == cast.alice.pk
    trainee_line = ChatMessage.objects.get(conversation_id=conversation_id, client_id="t1")
    assert trainee_line.author_trainee is True
    assert not ChatMessage.objects.filter(
        conversation_id=conversation_id, client_id="a1", author_trainee=True
    ).exists()


def test_the_badge_stays_on_lines_written_while_a_trainee(cast):
    tina = factories.AgentFactory(name="Tina Trainee", is_trainee=True)
    conversation, _ = chat.start_session(name="Ben", email="ben@shop.example")
    chat.join_conversation(conversation.pk, agent=tina)
    line, _ = chat.post_message(
        conversation.pk, author_type="agent", body="Hello!", author_user=tina
    )
    tina.is_trainee = False  # graduated
    tina.save(update_fields=["is_trainee"])
    later, _ = chat.post_message(
        conversation.pk, author_type="agent", body="Anything else?", author_user=tina
    )
    assert events.message_frame(line)["author"]["trainee"] is True
    assert "trainee" not in events.message_frame(later)["author"]


def test_a_lead_watches_a_colleagues_chat_in_the_console_and_sees_the_badge(
    live_server, cast, page
):
    tina = factories.AgentFactory(name="Tina Trainee", is_trainee=True)
    conversation, _ = chat.start_session(name="Priya", email="priya@shop.example")
    chat.post_message(conversation.pk, author_type="visitor", body="Gift wrap?", client_id="v")
    chat.join_conversation(conversation.pk, agent=cast.alice)
    chat.join_conversation(conversation.pk, agent=tina)
    chat.post_message(conversation.pk, author_type="agent", body="Yes, free!", author_user=tina)

    login(page, live_server, cast.carol.email, cast.password)
    page.goto(f"{live_server.url}/chats/")
    page.locator("#chat-active li", has_text="Priya").get_by_role("button", name="Watch").click()
    pane = page.locator(f'.chat-pane[data-conversation="{conversation.pk}"]')
    line = pane.locator(".chat-msg", has_text="Yes, free!")
    line.locator(".badge.trainee", has_text="trainee").wait_for()
    assert pane.locator(".chat-msg", has_text="Gift wrap?").locator(".badge").count() == 0
    assert pane.locator(".chat-compose").count() == 0  # watching is read-only
    header = pane.locator(".chat-handle-time")
    header.wait_for()
    assert "with an agent" in header.inner_text() and "first answer" in header.inner_text()
