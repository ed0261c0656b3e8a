"""Lines of waiting and active chats are stored over the async pool (livechat/asyncdb.py), not the
ORM thread: the numbering, idempotency and commit-before-ack rules must hold, under bursts, and the
socket's write must really take the pool (counted by `services.line_writes`)."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from django.db import connections

from accounts.services import issue_api_token
from livechat import asyncdb, services
from livechat.models import ChatMessage, Conversation
from tests.helpers.chat import agent_socket, run, visitor_socket, widget_session


def test_a_burst_from_both_sides_is_numbered_without_gaps_and_delivered_once(live_server, cast):
    session = widget_session(live_server)
    conversation_id = session["conversation_id"]
    agent_token = issue_api_token(cast.alice)
    burst = 40

    async def scenario() -> tuple[dict, dict, dict, dict]:
        agent = await agent_socket(live_server, agent_token)
        visitor = await visitor_socket(live_server, session["visitor_token"])
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

        async def every_line(client) -> dict:
            # Two writers commit concurrently, so seq N may be published after N + 1.
            got = await client.messages_until(conversation_id, last)
            while missing := set(range(joined["seq"] + 1, last + 1)) - set(got):
                frame = await client.next(lambda f: f["type"] == "message" and f["seq"] in missing)
                got[frame["seq"]] = frame
            return got

        at_visitor = await every_line(visitor)
        at_agent = await every_line(agent)
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
    session = widget_session(live_server)
    conversation_id = session["conversation_id"]
    agent_token = issue_api_token(cast.alice)

    async def scenario() -> tuple[dict, dict]:
        agent = await agent_socket(live_server, agent_token)
        visitor = await visitor_socket(live_server, session["visitor_token"])
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


def _stored_by_pool(coroutine) -> tuple[object, int, int]:
    """Run a socket's write on an event loop of this process; how many lines each path stored."""

    async def scenario() -> object:
        try:
            return await coroutine
        finally:
            await asyncdb.close()
            # The ORM thread's connection, if the write fell back to it.
            await database_sync_to_async(connections.close_all)()

    pool, connection = services.line_writes["pool"], services.line_writes["connection"]
    result = run(scenario())
    return (
        result,
        services.line_writes["pool"] - pool,
        services.line_writes["connection"] - connection,
    )


def test_lines_of_waiting_and_active_chats_take_the_pool_from_both_sides(transactional_db, cast):
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")

    def line(author_type: str, client_id: str, **author):
        return services.apost_message(
            conversation.pk, author_type=author_type, body=client_id, client_id=client_id, **author
        )

    # Waiting: no agent yet. The visitor's first lines, and an agent helping without taking it.
    (waiting_v, _), pool, orm = _stored_by_pool(line("visitor", "v1"))
    assert (pool, orm) == (1, 0)
    (waiting_a, _), pool, orm = _stored_by_pool(line("agent", "a1", author_user=cast.bob))
    assert (pool, orm) == (1, 0)
    services.join_conversation(conversation.pk, agent=cast.alice)
    (active_v, _), pool, orm = _stored_by_pool(line("visitor", "v2"))
    assert (pool, orm) == (1, 0)
    (active_a, _), pool, orm = _stored_by_pool(line("agent", "a2", author_user=cast.alice))
    assert (pool, orm) == (1, 0)
    # A resend is answered from the pool too, with the first copy.
    (again, created), pool, orm = _stored_by_pool(line("visitor", "v2"))
    assert (pool, orm, created) == (1, 0, False)
    assert (again.pk, again.seq) == (active_v.pk, active_v.seq)

    stored = {m.client_id: m for m in ChatMessage.objects.filter(conversation=conversation)}
    assert [stored[c].seq for c in ("v1", "a1", "v2", "a2")] == [1, 2, 4, 5]  # 3: "joined"
    for returned in (waiting_v, waiting_a, active_v, active_a):
        row = stored[returned.client_id]
        assert (returned.pk, returned.seq, returned.author_name, returned.author_trainee) == (
            row.pk,
            row.seq,
            row.author_name,
            row.author_trainee,
        )
    assert stored["v1"].author_name == stored["v2"].author_name == "Ben"
    assert stored["a1"].author_name == cast.bob.display_name
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 5


def test_an_agent_line_in_an_ended_chat_continues_by_email_off_the_pool(
    transactional_db, cast, smtp_sink, eager_celery
):
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    services.join_conversation(conversation.pk, agent=cast.alice)
    services.end_conversation(conversation.pk, by=cast.alice)
    (message, created), pool, orm = _stored_by_pool(
        services.apost_message(
            conversation.pk,
            author_type="agent",
            body="Found it: it ships today.",
            client_id="late",
            author_user=cast.alice,
        )
    )
    assert pool == 0 and orm >= 1 and created  # the line, then "continues by email"
    conversation.refresh_from_db()
    assert conversation.ticket is not None  # escalated: the line went out by email
    mails = smtp_sink.wait_for(2)  # the CSAT survey when the chat ended, then the agent's line
    assert any("it ships today" in m.get_body(("plain",)).get_content() for m in mails)
    late = ChatMessage.objects.get(conversation=conversation, client_id="late")
    assert late.seq == message.seq == conversation.last_seq - 1  # then "continues by email"


def test_the_pools_connection_string_takes_libpq_options_only(settings) -> None:
    """Django's OPTIONS mix libpq keywords (sslmode) with psycopg's and Django's own: only the
    former go into the pool's connection string (an unknown keyword fails every connection,
    and every line falls back to the ORM)."""
    from psycopg.conninfo import conninfo_to_dict

    default = settings.DATABASES["default"]
    options = {"sslmode": "prefer", "prepare_threshold": 5, "server_side_binding": False}
    settings.DATABASES = {**settings.DATABASES, "default": {**default, "OPTIONS": options}}
    params = conninfo_to_dict(asyncdb._conninfo())
    assert params["sslmode"] == "prefer"
    assert "prepare_threshold" not in params and "server_side_binding" not in params
