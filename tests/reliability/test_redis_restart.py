"""Redis restarted during live chats: /healthz reports the outage and the recovery; sockets come
back, clients resume from their last seq, and no message is lost or duplicated in any chat, for an
agent who was in a chat across the restart as for one who opens it afterwards."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.services import issue_api_token
from livechat.models import ChatMessage
from tests.helpers.chat import ChatClient, agent_socket, run, visitor_socket, widget_session
from tests.helpers.reliability import request, wait_until

pytestmark = pytest.mark.live


def _health(server) -> tuple[int, dict]:
    status, _, text = request("GET", f"{server.url}/healthz")
    return status, json.loads(text)


def _last_seq(conversation_id: int) -> int:
    return ChatMessage.objects.filter(conversation_id=conversation_id).order_by("-seq")[0].seq


def test_live_chats_lose_and_duplicate_nothing_across_a_redis_restart(
    live_server, cast, redis_server
):
    sessions = [widget_session(live_server, f"V{n}", f"v{n}@shop.example") for n in range(3)]
    agent_token = issue_api_token(cast.alice)
    clients: dict[int, ChatClient] = {}
    last_before: dict[int, int] = {}
    joined: dict[str, ChatClient] = {}  # the agent in the first chat across the restart

    async def visitor(session: dict) -> ChatClient:
        for _ in range(100):
            try:
                return await visitor_socket(live_server, session["visitor_token"])
            except (OSError, ConnectionClosed, InvalidStatus, AssertionError, TimeoutError):
                await asyncio.sleep(0.2)
        raise AssertionError("the visitor could not reconnect")

    async def say(session: dict, client_id: str) -> int:
        """Send until acked, reconnecting as needed; returns the stored seq."""
        cid = session["conversation_id"]
        while True:
            try:
                await clients[cid].send(
                    {"type": "message", "client_id": client_id, "body": client_id}
                )
                ack = await clients[cid].next(
                    lambda f: f["type"] == "ack" and f["client_id"] == client_id, timeout=3
                )
                return ack["seq"]
            except (ConnectionClosed, AssertionError, TimeoutError):
                clients[cid] = await visitor(session)

    async def before() -> None:
        for session in sessions:
            clients[session["conversation_id"]] = await visitor(session)
            last_before[session["conversation_id"]] = await say(session, "before")
        first = sessions[0]["conversation_id"]
        joined["agent"] = await agent_socket(live_server, agent_token)
        await joined["agent"].send({"type": "join", "conversation_id": first})
        await joined["agent"].messages_until(first, last_before[first] + 1)  # "alice joined"
        last_before[first] += 1

    async def joined_agent_catches_up() -> list[str]:
        """The agent who was in the first chat across the restart resumes from its last seq
        (or, if its socket dropped, reconnects and joins from there)."""
        cid = sessions[0]["conversation_id"]
        agent = joined["agent"]
        try:
            await agent.send(
                {"type": "resume", "conversation_id": cid, "after_seq": last_before[cid]}
            )
        except ConnectionClosed:
            agent = await agent_socket(live_server, agent_token)
            await agent.send(
                {"type": "join", "conversation_id": cid, "after_seq": last_before[cid]}
            )
        got = await agent.messages_until(cid, await asyncio.to_thread(_last_seq, cid))
        await agent.close()
        # Clients keep messages by seq: a frame both replayed and delivered live counts once.
        return [got[s]["body"] for s in sorted(got) if s > last_before[cid]]

    async def after() -> dict[int, list[str]]:
        for session in sessions:
            for n in range(3):
                await say(session, f"after-{n}")
        across = await joined_agent_catches_up()
        agent = await agent_socket(live_server, agent_token)
        seen: dict[int, list[str]] = {}
        for session in sessions:
            cid = session["conversation_id"]
            await agent.send(
                {"type": "watch", "conversation_id": cid, "after_seq": last_before[cid]}
            )
            last = await asyncio.to_thread(_last_seq, cid)
            got = await agent.messages_until(cid, last)
            seen[cid] = [got[s]["body"] for s in sorted(got) if s > last_before[cid]]
        await agent.close()
        for client in clients.values():
            await client.close()
        return {**seen, 0: across}

    async def scenario() -> dict[int, list[str]]:
        await before()
        await asyncio.to_thread(redis_server.stop)
        try:
            status, body = await asyncio.to_thread(_health, live_server)
            assert status == 503 and body["checks"]["broker"]["ok"] is False
            assert body["checks"]["database"]["ok"] is True
        finally:
            await asyncio.to_thread(redis_server.start)
        await asyncio.to_thread(
            wait_until, lambda: _health(live_server)[0] == 200, 20, "healthz green again"
        )
        return await after()

    seen = run(scenario())
    assert seen[0] == ["after-0", "after-1", "after-2"]  # the agent in the chat across the restart
    for session in sessions:
        cid = session["conversation_id"]
        assert seen[cid] == ["after-0", "after-1", "after-2"]
        stored = list(
            ChatMessage.objects.filter(conversation_id=cid, author_type="visitor")
            .order_by("seq")
            .values_list("client_id", flat=True)
        )
        assert stored == ["before", "after-0", "after-1", "after-2"]
