"""Live updates over real sockets against daphne: the inbox feed and who-is-viewing on a ticket."""

from __future__ import annotations

import json
import urllib.request

import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.services import issue_api_token
from tests import factories


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _socket(server, path: str, user=None):
    headers = {"Cookie": _session_cookie(user)} if user is not None else {}
    return connect(
        f"{server.ws_url}{path}",
        additional_headers=headers,
        origin=server.url,
        open_timeout=10,
    )


def _frames_until(ws, predicate, timeout: float = 10.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("the expected frame did not arrive")
        frame = json.loads(ws.recv(timeout=remaining))
        if predicate(frame):
            return frame


@pytest.mark.live
def test_ticket_created_through_the_api_arrives_on_the_inbox_socket(cast, live_server) -> None:
    token = issue_api_token(cast.bob)
    with _socket(live_server, "/ws/inbox/", cast.alice) as ws:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/tickets",
            data=json.dumps(
                {
                    "subject": "Live one",
                    "body": "Hello from the API",
                    "customer": {"email": "live@shop.example", "name": "Liv"},
                }
            ).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            ticket_id = json.loads(response.read())["id"]
        frame = _frames_until(ws, lambda f: f.get("ticket_id") == ticket_id)
    assert frame["type"] == "ticket.changed"
    assert frame["change"] == "created"


@pytest.mark.live
def test_anonymous_inbox_socket_is_closed_with_4401(db, live_server) -> None:
    with _socket(live_server, "/ws/inbox/") as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4401


@pytest.mark.live
def test_ticket_socket_tells_each_agent_who_else_is_viewing(cast, live_server) -> None:
    ticket = factories.TicketFactory(subject="Shared")
    with _socket(live_server, f"/ws/tickets/{ticket.pk}/", cast.alice) as alice:
        _frames_until(alice, lambda f: f["type"] == "ticket.viewers")
        with _socket(live_server, f"/ws/tickets/{ticket.pk}/", cast.bob) as bob:
            frame = _frames_until(
                alice,
                lambda f: f["type"] == "ticket.viewers" and len(f["viewers"]) == 2,
            )
            assert {v["name"] for v in frame["viewers"]} == {"Alice Agent", "Bob Builder"}
            bob_view = _frames_until(bob, lambda f: f["type"] == "ticket.viewers")
            assert "Alice Agent" in {v["name"] for v in bob_view["viewers"]}
        frame = _frames_until(
            alice, lambda f: f["type"] == "ticket.viewers" and len(f["viewers"]) == 1
        )
        assert frame["viewers"][0]["name"] == "Alice Agent"


@pytest.mark.live
def test_ticket_socket_forwards_new_messages(cast, live_server) -> None:
    ticket = factories.TicketFactory(subject="Busy")
    factories.MessageFactory(ticket=ticket)
    token = issue_api_token(cast.bob)
    with _socket(live_server, f"/ws/tickets/{ticket.pk}/", cast.alice) as alice:
        _frames_until(alice, lambda f: f["type"] == "ticket.viewers")
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/tickets/{ticket.pk}/replies",
            data=json.dumps({"body": "Noted", "internal": True}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 201)
        frame = _frames_until(alice, lambda f: f["type"] == "ticket.message")
    message = ticket.messages.get(body_text="Noted")
    assert frame == {
        "type": "ticket.message",
        "ticket_id": ticket.pk,
        "message_id": message.pk,
        "author_type": "agent",
        "internal": True,
    }
