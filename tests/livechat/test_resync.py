"""A line stored during a Redis blip still arrives: when the channel layer loses a publish or its
connection, every socket that may have missed something (visitor and agent, on every daphne
process) gets a `sync` frame with the conversation's last seq, and a client that has less answers
with `resume`, as the widget and the console do. Real daphne processes, real Redis stopped and
started under live sockets."""

from __future__ import annotations

import asyncio

import pytest

from accounts.services import issue_api_token
from livechat.models import Conversation
from tests.helpers.chat import ChatClient, post_json, run
from tests.helpers.servers import start_daphne

pytestmark = pytest.mark.live


async def _open(server, path: str, **headers: str) -> ChatClient:
    client = await ChatClient.open(f"{server.ws_url}{path}", origin=server.url, headers=headers)
    await client.next(lambda f: f["type"] == "hello")
    return client


async def _follow_silently(client: ChatClient, conversation_id: int, *, agent: bool) -> None:
    """What the widget and console do when nothing arrives: nothing, until the server says so."""
    have: dict[int, dict] = {}
    while True:
        frame = await client.next(lambda f: f["type"] in {"message", "sync"}, timeout=30)
        if frame["type"] == "message" and frame["conversation_id"] == conversation_id:
            have[frame["seq"]] = frame
            client.seen[frame["seq"]] = frame
        elif frame["type"] == "sync" and frame["conversation_id"] == conversation_id:
            client.syncs += 1
            contiguous = 0
            while contiguous + 1 in have:
                contiguous += 1
            if frame["last_seq"] > contiguous:
                resume = {"type": "resume", "after_seq": contiguous}
                if agent:
                    resume["conversation_id"] = conversation_id
                await client.send(resume)


def test_lines_stored_during_a_redis_blip_reach_the_other_tab_and_the_agents_on_both_processes(
    transactional_db, tmp_path, live_server_env, cast, redis_server
):
    first = start_daphne(tmp_path, live_server_env, name="daphne-1")
    second = start_daphne(tmp_path, live_server_env, name="daphne-2")
    try:
        status, session = post_json(
            f"{first.url}/api/v1/widget/sessions", {"name": "Ben", "email": "ben@shop.example"}
        )
        assert status == 201
        conversation_id = session["conversation_id"]
        token = f"/ws/chat/?token={session['visitor_token']}"
        alice = {"Authorization": f"Bearer {issue_api_token(cast.alice)}"}
        bob = {"Authorization": f"Bearer {issue_api_token(cast.bob)}"}

        async def scenario() -> tuple[dict[str, ChatClient], list[int]]:
            writer = await _open(first, token)  # the tab the visitor types in
            readers = {
                "other tab (daphne-2)": await _open(second, token),
                "assignee (daphne-1)": await _open(first, "/ws/agent/", **alice),
                "watcher (daphne-2)": await _open(second, "/ws/agent/", **bob),
            }
            agents = (readers["assignee (daphne-1)"], readers["watcher (daphne-2)"])
            await agents[0].send({"type": "join", "conversation_id": conversation_id})
            await agents[1].send({"type": "watch", "conversation_id": conversation_id})
            await writer.send({"type": "message", "client_id": "before", "body": "before"})
            for reader in readers.values():
                await reader.next(lambda f: f.get("client_id") == "before", timeout=10)
                reader.seen, reader.syncs = {}, 0

            await asyncio.to_thread(redis_server.stop)
            acked = []
            try:
                for n in range(4):  # the visitor goes on typing through the blip
                    await writer.send({"type": "message", "client_id": f"blip-{n}", "body": "?"})
                    ack = await writer.next(
                        lambda f, n=n: f["type"] == "ack" and f["client_id"] == f"blip-{n}",
                        timeout=10,
                    )
                    acked.append(ack["seq"])
                    await asyncio.sleep(0.5)
            finally:
                await asyncio.to_thread(redis_server.start)
            # ... and then falls silent. Everyone else catches up by themselves within seconds.
            followers = [
                asyncio.create_task(
                    _follow_silently(reader, conversation_id, agent=reader in agents)
                )
                for reader in readers.values()
            ]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 8
            while loop.time() < deadline and not all(
                set(acked) <= set(r.seen) for r in readers.values()
            ):
                await asyncio.sleep(0.1)
            for follower in followers:
                follower.cancel()
            for client in (writer, *readers.values()):
                await client.close()
            return readers, acked

        readers, acked = run(scenario())
    finally:
        first.stop()
        second.stop()
    assert len(acked) == 4
    assert Conversation.objects.get(pk=conversation_id).last_seq == acked[-1]
    for name, reader in readers.items():
        missing = sorted(set(acked) - set(reader.seen))
        assert not missing, f"{name} never got seqs {missing} (sync frames: {reader.syncs})"
        assert [reader.seen[s]["client_id"] for s in acked] == [f"blip-{n}" for n in range(4)]
        assert reader.syncs >= 1  # it caught up because the server told it to
