"""The routing guarantee under concurrent arrivals: no chat is given to two agents and no agent
gets more than `max_chats`. Two real daphne processes take many first lines at once (each
process assigns on its own database connection), and many threads race `assign_chat` directly."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from django.db.models import Count

from accounts.services import issue_api_token
from audit.models import AuditEntry
from livechat import routing, services
from livechat.models import ChatMessage, Conversation, ConversationStatus
from tests import factories
from tests.helpers.chat import ChatClient, post_json, run
from tests.helpers.reliability import in_parallel
from tests.helpers.servers import start_daphne

pytestmark = pytest.mark.live

CHATS = 24
MAX_CHATS = 2
ANNOUNCED = "will be with you in a moment."


def _agents(cast, count: int = 4):
    agents = [cast.alice, cast.bob] + [
        factories.AgentFactory(email=f"agent{n}@example.com", name=f"Agent {n}")
        for n in range(count - 2)
    ]
    for agent in agents:
        agent.max_chats = MAX_CHATS
        agent.save(update_fields=["max_chats"])
    return agents


def _loads() -> dict[int, int]:
    rows = (
        Conversation.objects.filter(
            assignee__isnull=False,
            status__in=[ConversationStatus.WAITING, ConversationStatus.ACTIVE],
        )
        .values("assignee_id")
        .annotate(n=Count("id"))
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def refill_created(summary: dict):
    return Conversation.objects.get(pk=summary["id"]).created_at


def test_many_chats_at_once_on_two_daphne_processes(
    transactional_db, tmp_path, live_server_env, cast
):
    env = {**live_server_env, "SUPPORTDESK_CHAT_ROUTING": "auto"}
    servers = [
        start_daphne(tmp_path, env, name="daphne-1"),
        start_daphne(tmp_path, env, name="daphne-2"),
    ]
    try:
        agents = _agents(cast)
        tokens = [issue_api_token(a) for a in agents]
        sessions = []
        for n in range(CHATS):
            server = servers[n % 2]
            status, body = post_json(
                f"{server.url}/api/v1/widget/sessions",
                {"name": f"Visitor {n}", "email": f"v{n}@shop.example"},
            )
            assert status == 201, body
            sessions.append((server, body))

        async def scenario() -> tuple[list[dict], dict]:
            consoles = []
            for n, token in enumerate(tokens):
                server = servers[n % 2]
                console = await ChatClient.open(
                    f"{server.ws_url}/ws/agent/",
                    origin=server.url,
                    headers={"Authorization": f"Bearer {token}"},
                )
                await console.next(lambda f: f["type"] == "hello")
                consoles.append(console)
            visitors = []
            for server, body in sessions:
                visitor = await ChatClient.open(
                    f"{server.ws_url}/ws/chat/?token={body['visitor_token']}", origin=server.url
                )
                await visitor.next(lambda f: f["type"] == "hello")
                visitors.append(visitor)
            # Every visitor's first line at once, half on each process.
            await asyncio.gather(
                *(
                    v.send({"type": "message", "client_id": f"first-{n}", "body": f"Help {n}"})
                    for n, v in enumerate(visitors)
                )
            )
            for n, visitor in enumerate(visitors):
                await visitor.next(lambda f, n=n: f.get("client_id") == f"first-{n}", timeout=30)
            # One console hears every queue event: the assignments, as the consoles see them.
            watcher = consoles[0]
            assigned: list[dict] = []
            while len(assigned) < len(agents) * MAX_CHATS:
                frame = await watcher.next(
                    lambda f: f["type"] == "queue" and f["action"] == "assigned", timeout=30
                )
                assigned.append(frame["conversation"])
            await watcher.drain(1.0)
            assigned += [
                f["conversation"]
                for f in watcher.frames
                if f["type"] == "queue" and f["action"] == "assigned"
            ]
            watcher.frames.clear()
            # A freed place goes to the oldest waiting chat, whichever process ended the chat.
            done = min(c["id"] for c in assigned if c["assignee_id"] == agents[0].pk)
            status, _ = await asyncio.to_thread(
                post_json,
                f"{servers[1].url}/api/v1/chats/{done}/end",
                {},
                {"Authorization": f"Bearer {tokens[0]}"},
            )
            assert status == 200
            refill = await watcher.next(
                lambda f: f["type"] == "queue" and f["action"] == "assigned", timeout=15
            )
            for client in consoles + visitors:
                await client.close()
            return assigned, refill["conversation"]

        assigned, refill = run(scenario())
        capacity = len(agents) * MAX_CHATS
        # Each frame names a different chat: none was given twice.
        assert len(assigned) == capacity
        assert len({c["id"] for c in assigned}) == capacity
        # The database agrees: the capacity is used, nobody over it.
        loads = _loads()
        assert sum(loads.values()) == capacity
        assert max(loads.values()) == MAX_CHATS and len(loads) == len(agents)
        entries = AuditEntry.objects.filter(action="chat.assigned").values_list(
            "object_id", flat=True
        )
        # ... and one more: the refill after a chat ended.
        assert len(entries) == capacity + 1 and len(set(entries)) == capacity + 1
        per_chat = Counter(
            ChatMessage.objects.filter(body__endswith=ANNOUNCED).values_list(
                "conversation_id", flat=True
            )
        )
        assert len(per_chat) == capacity + 1 and set(per_chat.values()) == {1}
        still_waiting = Conversation.objects.filter(assignee__isnull=True)
        assert still_waiting.count() == CHATS - capacity - 1

        assert refill["assignee_id"] == cast.alice.pk
        assert all(c.created_at >= refill_created(refill) for c in still_waiting)
        assert _loads()[cast.alice.pk] == MAX_CHATS
    finally:
        for server in servers:
            server.stop()


def test_threads_racing_assign_chat_never_exceed_capacity(transactional_db, cast, settings):
    settings.SUPPORTDESK_CHAT_ROUTING = "auto"
    agents = _agents(cast, count=3)
    for agent in agents:
        services.agent_connected(agent)
    chats = []
    for n in range(20):
        conversation, _ = services.start_session(name=f"V{n}", email=f"v{n}@shop.example")
        Conversation.objects.filter(pk=conversation.pk).update(last_seq=0)
        ChatMessage.objects.create(
            conversation=conversation, seq=1, author_type="visitor", body="hi"
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_seq=1)
        chats.append(conversation.pk)
    # Each chat twice, all at once, on 40 connections.
    results = in_parallel([lambda pk=pk: routing.assign_chat(pk) for pk in chats * 2])
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    given = [r.conversation_id for r in results if r is not None]
    assert len(given) == len(set(given)) == len(agents) * MAX_CHATS
    loads = _loads()
    assert set(loads.values()) == {MAX_CHATS} and len(loads) == len(agents)
