"""The chat sockets under hostile use, beyond tests/livechat/test_sockets.py: another visitor's
conversation id in frames, a visitor token on the agent socket, binary frames, NUL and
invisible-only bodies, and Unicode (RTL, zero-width, emoji, combining marks) kept exactly."""

from __future__ import annotations

import json
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed

from accounts.services import issue_api_token
from livechat.models import ChatMessage
from tests.helpers.chat import ChatClient, run, visitor_socket, widget_session

UNICODE_BODIES = [
    "مرحبا، طلبي لم يصل",  # Arabic, right to left
    "שלום \u202bעולם\u202c",  # noqa: RUF001  (Hebrew with embedding controls)
    "zero\u200bwidth\u200djoiner\u2060",
    "👩‍👩‍👧‍👦 🏳️‍🌈 𝕊𝕙𝕠𝕖𝕤",  # noqa: RUF001  (ZWJ sequences, 4-byte characters)
    "e\u0301\u0302\u0303 Z̷̢͓a̸l̵g̶o̷",  # combining marks
    "\ufeffBOM first",
]


def test_frames_naming_another_visitors_conversation_act_only_on_ones_own(live_server):
    mine = widget_session(live_server, name="Ben", email="ben@shop.example")
    theirs = widget_session(live_server, name="Vic", email="vic@shop.example")

    async def scenario() -> None:
        victim = await visitor_socket(live_server, theirs["visitor_token"])
        await victim.send({"type": "message", "client_id": "v1", "body": "my address is secret"})
        await victim.next(lambda f: f["type"] == "ack")
        attacker = await visitor_socket(live_server, mine["visitor_token"])
        other = theirs["conversation_id"]
        await attacker.send(
            {"type": "message", "client_id": "a1", "body": "hijack", "conversation_id": other}
        )
        ack = await attacker.next(lambda f: f["type"] == "ack")
        assert ack["seq"] == 1
        await attacker.send({"type": "resume", "after_seq": 0, "conversation_id": other})
        await attacker.send({"type": "read", "seq": 1, "conversation_id": other})
        await attacker.send({"type": "typing", "conversation_id": other})
        frames = await attacker.drain(1.0)
        assert all(f.get("conversation_id") in (None, mine["conversation_id"]) for f in frames)
        assert "my address is secret" not in str(frames)
        leaked = await victim.drain(1.0)
        assert "hijack" not in str(leaked)
        await attacker.close()
        await victim.close()

    run(scenario())
    assert list(
        ChatMessage.objects.filter(conversation_id=theirs["conversation_id"]).values_list(
            "body", flat=True
        )
    ) == ["my address is secret"]
    assert ChatMessage.objects.get(conversation_id=mine["conversation_id"]).body == "hijack"


def test_a_visitor_token_does_not_open_the_agent_socket(live_server):
    session = widget_session(live_server)

    async def scenario() -> None:
        client = await ChatClient.open(
            f"{live_server.ws_url}/ws/agent/",
            origin=live_server.url,
            headers={"Authorization": f"Bearer {session['visitor_token']}"},
        )
        assert (await client.next(lambda f: f["type"] == "error"))["code"] == "bad_token"
        with pytest.raises(ConnectionClosed) as closed:
            await client.ws.recv()
        assert closed.value.rcvd.code == 4401

    run(scenario())


def test_unicode_rtl_and_zero_width_text_round_trips_exactly(live_server, cast):
    session = widget_session(live_server)

    async def scenario() -> None:
        visitor = await visitor_socket(live_server, session["visitor_token"])
        for n, body in enumerate(UNICODE_BODIES):
            await visitor.send({"type": "message", "client_id": f"u{n}", "body": body})
            assert (await visitor.next(lambda f: f["type"] == "ack"))["seq"] == n + 1
        await visitor.close()

    run(scenario())
    stored = list(
        ChatMessage.objects.filter(conversation_id=session["conversation_id"])
        .order_by("seq")
        .values_list("body", flat=True)
    )
    assert stored == UNICODE_BODIES
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/chats/{session['conversation_id']}",
        headers={"Authorization": f"Bearer {issue_api_token(cast.alice)}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        bodies = [m["body"] for m in json.loads(response.read())["messages"]]
    assert bodies == UNICODE_BODIES


def test_invisible_only_nul_and_binary_frames_get_errors_and_store_nothing(live_server):
    session = widget_session(live_server)

    async def scenario() -> None:
        visitor = await visitor_socket(live_server, session["visitor_token"])
        await visitor.send({"type": "message", "client_id": "z", "body": "\u200b\u200d\u2060 \n"})
        empty = await visitor.next(lambda f: f["type"] == "error")
        assert empty["code"] == "empty_body"
        await visitor.send({"type": "message", "client_id": "n", "body": "a\x00b"})
        nul = await visitor.next(lambda f: f["type"] == "error")
        assert nul["code"] == "invalid"
        await visitor.ws.send(b"\x00\x01binary")
        assert (await visitor.next(lambda f: f["type"] == "error"))["code"] == "invalid"
        await visitor.send({"type": "message", "client_id": 123, "body": ["not", "text"]})
        assert (await visitor.next(lambda f: f["type"] == "error"))["type"] == "error"
        await visitor.send({"type": "message", "client_id": "ok", "body": "still here"})
        assert (await visitor.next(lambda f: f["type"] == "ack"))["seq"] == 1
        await visitor.close()

    run(scenario())
    assert list(
        ChatMessage.objects.filter(conversation_id=session["conversation_id"]).values_list(
            "body", flat=True
        )
    ) == ["still here"]
