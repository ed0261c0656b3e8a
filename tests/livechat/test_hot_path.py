"""Lines of an active chat are stored over the async pool (livechat/asyncdb.py), not the ORM thread:
the numbering, idempotency and commit-before-ack rules must hold exactly as before, under bursts."""

from __future__ import annotations

import asyncio

from accounts.services import issue_api_token
from livechat.models import ChatMessage, Conversation
from tests.livechat.test_sockets import _agent, _session, _visitor
from tests.livechat.wsclient import run


def test_a_burst_from_both_sides_is_numbered_without_gaps_and_delivered_once(live_server, cast):
    session = _session(live_server)
    conversation_id = session["conversation_id"]
    agent_token = issue_api_token(cast.alice)
    burst = 40

    async def scenario() -> tuple[dict, dict, dict, dict]:
        agent = await _agent(live_server, agent_token)
        visitor = await _visitor(live_server, session["visitor_token"])
        await agent.send({"type": "join", "conversation_id": conversation_id})
        joined = await visitor.next(lambda f: f["type"] == "message")  # "Alice joined the chat."
        # Both sides write at once, without waiting for acks.
        await asyncio.gather(
            *(
                visitor.send({"type": "message", "client_id": f"v{i}", "body": f"visitor {i}"})
                for i in range(burst)
            ),
            *(
                agent.send(
                    {
                        "type": "message",
                        "conversation_id": conversation_id,
                        "client_id": f"a{i}",
                        "body": f"agent {i}",
                    }
                )
                for i in range(burst)
            ),
        )
        last = joined["seq"] + 2 * burst
        at_visitor = await visitor.messages_until(conversation_id, last)
        at_agent = await agent.messages_until(conversation_id, last)
        acks_v = {
            f["client_id"]: f
            for f in [await visitor.next(lambda f: f["type"] == "ack") for _ in range(burst)]
        }
        acks_a = {
            f["client_id"]: f
            for f in [await agent.next(lambda f: f["type"] == "ack") for _ in range(burst)]
        }
        await visitor.drain(0.3)
        await agent.drain(0.3)
        assert not [f for f in visitor.frames + agent.frames if f["type"] == "message"]
        await visitor.close()
        await agent.close()
        return at_visitor, at_agent, acks_v, acks_a

    at_visitor, at_agent, acks_v, acks_a = run(scenario())

    rows = list(ChatMessage.objects.filter(conversation_id=conversation_id).order_by("seq"))
    assert [m.seq for m in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 1 + 2 * burst
    assert Conversation.objects.get(pk=conversation_id).last_seq == len(rows)
    stored = {m.client_id: m for m in rows if m.client_id}
    # Every ack carries the committed row's seq and id; both sockets saw every line exactly once.
    for acks in (acks_v, acks_a):
        for client_id, ack in acks.items():
            assert (ack["seq"], ack["id"]) == (stored[client_id].seq, stored[client_id].pk)
    for seen in (at_visitor, at_agent):
        assert {f["client_id"] for f in seen.values() if f["client_id"]} == set(stored)
        for seq, frame in seen.items():
            assert rows[seq - 1].body == frame["body"]
    assert stored["a0"].author_name == cast.alice.display_name
    assert stored["v0"].author_name == "Ben"


def test_resending_a_line_of_an_active_chat_acks_the_first_copy(live_server, cast):
    session = _session(live_server)
    conversation_id = session["conversation_id"]
    agent_token = issue_api_token(cast.alice)

    async def scenario() -> tuple[dict, dict]:
        agent = await _agent(live_server, agent_token)
        visitor = await _visitor(live_server, session["visitor_token"])
        await agent.send({"type": "join", "conversation_id": conversation_id})
        await visitor.next(lambda f: f["type"] == "message")
        frame = {"type": "message", "client_id": "same-line", "body": "Where is my parcel?"}
        await visitor.send(frame)
        first = await visitor.next(lambda f: f["type"] == "ack")
        await visitor.send(frame)
        second = await visitor.next(lambda f: f["type"] == "ack")
        await visitor.close()
        await agent.close()
        return first, second

    first, second = run(scenario())
    assert (first["seq"], first["id"]) == (second["seq"], second["id"])
    assert ChatMessage.objects.filter(conversation_id=conversation_id).count() == 2
    assert Conversation.objects.get(pk=conversation_id).last_seq == 2
