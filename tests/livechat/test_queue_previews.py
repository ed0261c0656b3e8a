"""A waiting chat's lines reach every agent's queue as previews, batched per process
(livechat/queue_previews.py): the line itself goes out at once, the queue gets the newest line of
each chat once per batch, and an agent's console socket receives the batch as one `queue.batch` frame."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from accounts.services import issue_api_token
from livechat import asyncdb, events, queue_previews, services
from livechat.models import Conversation
from teams import services as team_services
from tests.helpers.chat import agent_socket, run, visitor_socket, widget_session


def test_lines_in_a_waiting_chat_reach_the_queue_once_per_batch_with_the_newest_line(
    transactional_db, monkeypatch
):
    # A long batch, so that the four lines fall in one however slow the machine is.
    monkeypatch.setattr(queue_previews, "PREVIEW_DELAY_SECONDS", 1.0)
    ben, _ = services.start_session(name="Ben", email="ben@shop.example")
    cleo, _ = services.start_session(name="Cleo", email="cleo@shop.example")

    async def scenario() -> list[dict]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.QUEUE_GROUP, channel)
        await layer.group_add(events.chat_group(ben.pk), channel)
        try:
            for chat, client_id in ((ben, "b1"), (cleo, "c1"), (ben, "b2"), (ben, "b3")):
                await services.apost_message(
                    chat.pk, author_type="visitor", body=f"line {client_id}", client_id=client_id
                )
            caught = []
            while not caught or caught[-1]["frame"]["type"] != "queue.batch":
                caught.append(await asyncio.wait_for(layer.receive(channel), 10))
            return caught
        finally:
            await asyncdb.close()
            await database_sync_to_async(connections.close_all)()

    caught = run(scenario())
    # Ben's three lines went out one by one, before the queue heard of any of them.
    lines = [event["frame"] for event in caught[:-1]]
    assert [(f["type"], f["client_id"], f["seq"]) for f in lines] == [
        ("message", "b1", 1),
        ("message", "b2", 2),
        ("message", "b3", 3),
    ]
    # Then one batch: Cleo's line, and only Ben's newest (his chat moved to the end).
    previews = caught[-1]["frame"]["frames"]
    assert [(f["type"], f["action"]) for f in previews] == [("queue", "waiting")] * 2
    assert [(f["conversation"]["id"], f["preview"]) for f in previews] == [
        (cleo.pk, "line c1"),
        (ben.pk, "line b3"),
    ]
    assert previews[1]["conversation"]["last_seq"] == 3
    assert previews[1]["conversation"]["status"] == "waiting"


def test_a_preview_shows_the_chat_as_the_queue_shows_it(transactional_db, cast):
    # The preview's chat is read from the statement's row, not from the model: it must say what
    # the console's queue says of the same chat (name from the email, team, seq, time).
    team_services.create_team(name="Returns", by=cast.carol)
    chat, _ = services.start_session(name="", email="dana@shop.example", team="returns")

    async def scenario() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.QUEUE_GROUP, channel)
        try:
            for client_id in ("d1", "d2"):
                await services.apost_message(
                    chat.pk, author_type="visitor", body="Where is my parcel?", client_id=client_id
                )
            await queue_previews.flush()
            while True:
                event = await asyncio.wait_for(layer.receive(channel), 10)
                if event["frame"]["type"] == "queue.batch":
                    return event["frame"]["frames"][0]
        finally:
            await asyncdb.close()
            await database_sync_to_async(connections.close_all)()

    preview = run(scenario())
    assert preview["conversation"] == events.conversation_summary(
        Conversation.objects.get(pk=chat.pk)
    )
    assert preview["conversation"]["visitor_name"] == "dana"
    assert preview["conversation"]["team"] == "Returns"
    assert preview["conversation"]["last_seq"] == 2


def test_an_agent_console_sees_the_newest_line_of_a_waiting_chat(live_server, cast):
    session = widget_session(live_server, name="Sam Best", email="sam@shop.example")
    chat_id = session["conversation_id"]
    token = issue_api_token(cast.alice)

    async def scenario() -> tuple[dict, list[dict]]:
        agent = await agent_socket(live_server, token)
        visitor = await visitor_socket(live_server, session["visitor_token"])
        acks = []
        for index, body in enumerate(["Hello?", "Do the oxfords run small?", "Size 44"]):
            await visitor.send({"type": "message", "client_id": f"v{index}", "body": body})
            acks.append(await visitor.next(lambda f: f["type"] == "ack"))
        batch = await agent.next(
            lambda f: (
                f["type"] == "queue.batch"
                and any(q.get("preview") == "Size 44" for q in f["frames"])
            ),
            timeout=15,
        )
        await agent.close()
        await visitor.close()
        [newest] = [q for q in batch["frames"] if q["conversation"]["id"] == chat_id]
        return newest, acks

    newest, acks = run(scenario())
    assert newest["type"] == "queue" and newest["preview"] == "Size 44"
    assert newest["conversation"]["last_seq"] >= acks[-1]["seq"]
    assert newest["conversation"]["visitor_name"] == "Sam Best"
