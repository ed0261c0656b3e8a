"""The chat protocol over real sockets: daphne, Postgres and the Redis pub/sub channel layer."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.services import issue_api_token
from livechat import services
from livechat.models import ChatMessage, Conversation
from tests.helpers.chat import (
    ChatClient,
    agent_socket,
    post_json,
    run,
    visitor_socket,
    visitor_url,
    widget_session,
)
from tests.helpers.servers import start_daphne


def _cid() -> str:
    return str(uuid.uuid4())


def test_visitor_and_agent_exchange_messages_both_ways(live_server, cast):
    session = widget_session(live_server)
    conversation_id = session["conversation_id"]
    agent_token = issue_api_token(cast.alice)
    assert session["websocket_url"].endswith(f"/ws/chat/?token={session['visitor_token']}")

    async def scenario() -> None:
        agent = await agent_socket(live_server, agent_token)
        visitor = await visitor_socket(live_server, session["visitor_token"])
        token_frame = await visitor.next(lambda f: f["type"] == "token")
        assert services.read_visitor_token(token_frame["visitor_token"]) is not None

        await visitor.send({"type": "message", "client_id": "v-1", "body": "My shoes are lost"})
        ack = await visitor.next(lambda f: f["type"] == "ack")
        assert ack["client_id"] == "v-1" and ack["seq"] == 1
        queued = await agent.next(lambda f: f["type"] == "queue")
        assert queued["conversation"]["id"] == conversation_id

        await agent.send({"type": "join", "conversation_id": conversation_id})
        replayed = await agent.next(lambda f: f["type"] == "message" and f["seq"] == 1)
        assert replayed["body"] == "My shoes are lost"
        assert replayed["author"] == {"type": "visitor", "name": "Ben"}

        await agent.send(
            {
                "type": "message",
                "conversation_id": conversation_id,
                "client_id": "a-1",
                "body": "Let me look at the order",
            }
        )
        agent_ack = await agent.next(lambda f: f["type"] == "ack")
        got = await visitor.next(lambda f: f["type"] == "message" and f["client_id"] == "a-1")
        assert got["seq"] == agent_ack["seq"] == 3  # 2 is "Alice Agent joined the chat."
        assert got["author"] == {"type": "agent", "name": "Alice Agent"}
        assert set(got) == {
            "type",
            "conversation_id",
            "seq",
            "id",
            "client_id",
            "author",
            "body",
            "sent_at",
        }

        await visitor.send({"type": "typing"})
        typing = await agent.next(lambda f: f["type"] == "typing")
        assert typing["conversation_id"] == conversation_id
        assert typing["author"]["type"] == "visitor"
        await agent.send({"type": "read", "conversation_id": conversation_id, "seq": 1})
        read = await visitor.next(lambda f: f["type"] == "read")
        assert read["seq"] == 1

        await visitor.send({"type": "message", "client_id": "v-2", "body": "Thanks!"})
        back = await agent.next(lambda f: f["type"] == "message" and f["client_id"] == "v-2")
        assert back["seq"] == 4
        await visitor.close()
        await agent.close()

    run(scenario())
    assert list(
        ChatMessage.objects.filter(conversation_id=conversation_id).values_list("seq", flat=True)
    ) == [1, 2, 3, 4]


def test_several_sockets_with_one_token_all_receive_frames(live_server, cast):
    session = widget_session(live_server)

    async def scenario() -> None:
        tab1 = await visitor_socket(live_server, session["visitor_token"])
        tab2 = await visitor_socket(live_server, session["visitor_token"])
        await tab1.send({"type": "message", "client_id": "t-1", "body": "from tab 1"})
        frame = await tab2.next(lambda f: f["type"] == "message")
        assert frame["body"] == "from tab 1"
        await tab1.close()
        await tab2.close()

    run(scenario())


def test_resend_with_same_client_id_over_the_socket_stores_once(live_server):
    session = widget_session(live_server)

    async def scenario() -> None:
        visitor = await visitor_socket(live_server, session["visitor_token"])
        for _ in range(3):
            await visitor.send({"type": "message", "client_id": "same", "body": "hello"})
        acks = [await visitor.next(lambda f: f["type"] == "ack") for _ in range(3)]
        assert {a["seq"] for a in acks} == {1}
        await visitor.close()

    run(scenario())
    assert ChatMessage.objects.filter(conversation_id=session["conversation_id"]).count() == 1


def test_reconnect_and_resume_loses_nothing(live_server, cast):
    session = widget_session(live_server)
    conversation_id = session["conversation_id"]
    agent_token = issue_api_token(cast.alice)

    async def scenario() -> None:
        visitor = await visitor_socket(live_server, session["visitor_token"])
        agent = await agent_socket(live_server, agent_token)
        await visitor.send({"type": "message", "client_id": "v-1", "body": "one"})
        await visitor.next(lambda f: f["type"] == "ack")
        await agent.send({"type": "join", "conversation_id": conversation_id})
        seen = await visitor.messages_until(conversation_id, 2)  # 2: the join notice
        await visitor.close()

        # While the visitor is away the agent writes three lines.
        for n in range(3):
            await agent.send(
                {
                    "type": "message",
                    "conversation_id": conversation_id,
                    "client_id": f"a-{n}",
                    "body": f"agent line {n}",
                }
            )
            await agent.next(lambda f: f["type"] == "ack")

        visitor = await visitor_socket(live_server, session["visitor_token"])
        await visitor.send({"type": "resume", "after_seq": max(seen)})
        replay = await visitor.messages_until(conversation_id, 5)
        assert sorted(replay) == [3, 4, 5]
        assert [replay[s]["body"] for s in (3, 4, 5)] == [f"agent line {n}" for n in range(3)]
        await visitor.drain()
        assert not [f for f in visitor.frames if f["type"] == "message"]  # nothing twice
        await visitor.close()
        await agent.close()

    run(scenario())


def test_forged_token_closes_with_4401(live_server):
    session = widget_session(live_server)
    conversation = Conversation.objects.get(pk=session["conversation_id"])
    other = Conversation.objects.create(visitor_email="someone@else.example")
    tampered = services.issue_visitor_token(conversation).replace(":", ":x", 1)
    for token in ("garbage", tampered, ""):

        async def scenario(token: str = token) -> None:
            client = await ChatClient.open(visitor_url(live_server, token), origin=live_server.url)
            error = await client.next(lambda f: f["type"] == "error")
            assert error["code"] == "bad_token"
            with pytest.raises(ConnectionClosed) as closed:
                await client.ws.recv()
            assert closed.value.rcvd.code == 4401

        run(scenario())
    # A signed token only opens its own conversation, never another visitor's.
    assert services.read_visitor_token(tampered) is None
    assert other.pk != conversation.pk


def test_expired_token_closes_with_4401(live_server, settings):
    session = widget_session(live_server)
    conversation = Conversation.objects.get(pk=session["conversation_id"])
    import time_machine

    with time_machine.travel("2020-01-01 00:00:00+00:00", tick=False):
        old = services.issue_visitor_token(conversation)

    async def scenario() -> None:
        client = await ChatClient.open(visitor_url(live_server, old), origin=live_server.url)
        assert (await client.next(lambda f: f["type"] == "error"))["code"] == "bad_token"
        with pytest.raises(ConnectionClosed) as closed:
            await client.ws.recv()
        assert closed.value.rcvd.code == 4401

    run(scenario())


def test_agent_socket_without_credentials_closes_with_4401(live_server):
    async def scenario() -> None:
        client = await ChatClient.open(
            f"{live_server.ws_url}/ws/agent/",
            origin=live_server.url,
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert (await client.next(lambda f: f["type"] == "error"))["code"] == "bad_token"
        with pytest.raises(ConnectionClosed) as closed:
            await client.ws.recv()
        assert closed.value.rcvd.code == 4401

    run(scenario())


def test_the_shop_embedding_the_widget_may_open_the_visitor_socket_but_not_an_agent_socket(
    live_server,
):
    session = widget_session(live_server)

    async def scenario() -> None:
        visitor = await ChatClient.open(
            visitor_url(live_server, session["visitor_token"]), origin="http://shop.example"
        )
        assert (await visitor.next(lambda f: f["type"] == "hello"))["type"] == "hello"
        await visitor.ws.close()
        with pytest.raises(InvalidStatus) as refused:
            await ChatClient.open(f"{live_server.ws_url}/ws/agent/", origin="http://shop.example")
        assert refused.value.response.status_code == 403

    run(scenario())


def test_widget_endpoints_answer_cors_for_the_shop_and_not_for_other_sites(live_server):
    import urllib.request

    def preflight(origin: str) -> dict[str, str]:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/widget/sessions",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204
            return dict(response.headers)

    assert preflight("http://shop.example")["Access-Control-Allow-Origin"] == "http://shop.example"
    assert "Access-Control-Allow-Origin" not in preflight("https://evil.example")


def test_wrong_origin_is_refused(live_server):
    """An origin outside SUPPORTDESK_WIDGET_ORIGINS and ALLOWED_HOSTS cannot open the visitor socket."""
    session = widget_session(live_server)

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            await ChatClient.open(
                visitor_url(live_server, session["visitor_token"]),
                origin="https://evil.example",
            )
        assert refused.value.response.status_code == 403

    run(scenario())


def test_oversized_and_invalid_frames_get_errors_and_the_socket_lives(live_server):
    session = widget_session(live_server)

    async def scenario() -> None:
        visitor = await visitor_socket(live_server, session["visitor_token"])
        await visitor.ws.send("x" * (70 * 1024))
        assert (await visitor.next(lambda f: f["type"] == "error"))["code"] == "too_large"
        await visitor.send({"type": "message", "client_id": "big", "body": "y" * 6000})
        big = await visitor.next(lambda f: f["type"] == "error")
        assert big["code"] == "too_large" and big["client_id"] == "big"
        await visitor.ws.send("{not json")
        assert (await visitor.next(lambda f: f["type"] == "error"))["code"] == "invalid_json"
        await visitor.send({"type": "bogus"})
        assert (await visitor.next(lambda f: f["type"] == "error"))["code"] == "unknown_type"
        await visitor.send({"type": "message", "client_id": "ok", "body": "still here"})
        assert (await visitor.next(lambda f: f["type"] == "ack"))["seq"] == 1
        await visitor.close()

    run(scenario())


def test_flood_is_rate_limited_not_a_crash(transactional_db, tmp_path, live_server_env):
    server = start_daphne(tmp_path, {**live_server_env, "SUPPORTDESK_RATELIMIT_ENABLED": "true"})
    try:
        session = widget_session(server)

        async def scenario() -> None:
            visitor = await visitor_socket(server, session["visitor_token"])
            for n in range(30):
                await visitor.send({"type": "message", "client_id": f"f-{n}", "body": "spam"})
            limited = await visitor.next(lambda f: f["type"] == "error")
            assert limited["code"] == "rate_limited"
            await visitor.drain(0.5)
            await asyncio.sleep(2.1)
            await visitor.send({"type": "message", "client_id": "later", "body": "calm again"})
            assert (await visitor.next(lambda f: f.get("client_id") == "later"))["type"] == "ack"
            await visitor.close()

        run(scenario())
    finally:
        server.stop()
    stored = ChatMessage.objects.filter(conversation_id=session["conversation_id"]).count()
    assert 10 <= stored < 31


def test_cross_process_delivery_through_redis(transactional_db, tmp_path, live_server_env, cast):
    first = start_daphne(tmp_path, live_server_env, name="daphne-1")
    second = start_daphne(tmp_path, live_server_env, name="daphne-2")
    try:
        session = widget_session(first)
        conversation_id = session["conversation_id"]
        agent_token = issue_api_token(cast.alice)

        async def scenario() -> None:
            visitor = await visitor_socket(first, session["visitor_token"])
            agent = await agent_socket(second, agent_token)
            await agent.send({"type": "join", "conversation_id": conversation_id})
            await visitor.next(lambda f: f["type"] == "message" and f["author"]["type"] == "system")
            for n in range(5):
                await visitor.send({"type": "message", "client_id": f"v{n}", "body": f"v{n}"})
                await agent.send(
                    {
                        "type": "message",
                        "conversation_id": conversation_id,
                        "client_id": f"a{n}",
                        "body": f"a{n}",
                    }
                )
            on_agent = [
                (
                    await agent.next(
                        lambda f, n=n: f.get("client_id") == f"v{n}" and f["type"] == "message"
                    )
                )
                for n in range(5)
            ]
            on_visitor = [
                (
                    await visitor.next(
                        lambda f, n=n: f.get("client_id") == f"a{n}" and f["type"] == "message"
                    )
                )
                for n in range(5)
            ]
            assert [f["body"] for f in on_agent] == [f"v{n}" for n in range(5)]
            assert [f["body"] for f in on_visitor] == [f"a{n}" for n in range(5)]
            await visitor.close()
            await agent.close()

        run(scenario())
    finally:
        first.stop()
        second.stop()


def test_shadow_watcher_sees_the_chat_live_but_cannot_write(live_server, cast):
    session = widget_session(live_server)
    conversation_id = session["conversation_id"]
    alice_token = issue_api_token(cast.alice)
    bob_token = issue_api_token(cast.bob)

    async def scenario() -> None:
        visitor = await visitor_socket(live_server, session["visitor_token"])
        alice = await agent_socket(live_server, alice_token)
        trainee = await agent_socket(live_server, bob_token)
        await alice.send({"type": "join", "conversation_id": conversation_id})
        await alice.next(lambda f: f["type"] == "message")
        await trainee.send({"type": "watch", "conversation_id": conversation_id})
        await trainee.next(lambda f: f["type"] == "message" and f["seq"] == 1)  # history

        await visitor.send({"type": "message", "client_id": "v", "body": "Hi there"})
        live = await trainee.next(lambda f: f["type"] == "message" and f["client_id"] == "v")
        assert live["body"] == "Hi there"
        await trainee.send(
            {"type": "message", "conversation_id": conversation_id, "client_id": "t", "body": "x"}
        )
        refused = await trainee.next(lambda f: f["type"] == "error")
        assert refused["code"] == "not_joined"

        await alice.send(
            {"type": "transfer", "conversation_id": conversation_id, "to_user_id": cast.bob.pk}
        )
        handed = await visitor.next(lambda f: f["type"] == "message" and "handed" in f["body"])
        assert handed["author"]["type"] == "system"
        for client in (visitor, alice, trainee):
            await client.close()

    run(scenario())
    conversation = Conversation.objects.get(pk=conversation_id)
    assert conversation.assignee_id == cast.bob.pk
    assert not ChatMessage.objects.filter(conversation_id=conversation_id, client_id="t").exists()


def test_presence_is_online_while_an_agent_socket_is_open(live_server, cast):
    token = issue_api_token(cast.alice)

    async def scenario() -> None:
        _, body = post_json(f"{live_server.url}/api/v1/widget/sessions", {"name": "A"})
        assert body["agents_online"] is False
        agent = await agent_socket(live_server, token)
        _, body = post_json(f"{live_server.url}/api/v1/widget/sessions", {"name": "B"})
        assert body["agents_online"] is True
        await agent.send({"type": "heartbeat", "status": "away"})
        await agent.next(lambda f: f["type"] == "heartbeat")
        _, body = post_json(f"{live_server.url}/api/v1/widget/sessions", {"name": "C"})
        assert body["agents_online"] is False
        await agent.close()

    run(scenario())
