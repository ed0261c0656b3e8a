"""Finding 3: one visitor token (or one address) cannot take every socket of a daphne process;
agents keep headroom; /healthz says when descriptors run out."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request

import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from livechat import services as chat
from tests.helpers.servers import start_daphne


def visitor_socket(server, token: str):
    ws = connect(f"{server.ws_url}/ws/chat/?token={token}", origin=server.url, open_timeout=10)
    first = json.loads(ws.recv(timeout=10))
    return ws, first


def refused(ws, first) -> str | None:
    """The refusal code if the server refused this socket (an error frame, then close 4429)."""
    if first.get("type") != "error":
        return None
    with contextlib.suppress(ConnectionClosed):
        ws.recv(timeout=5)
    assert ws.close_code == 4429
    return first["code"]


@pytest.fixture
def capped(transactional_db, tmp_path, live_server_env):
    server = start_daphne(
        tmp_path,
        {
            **live_server_env,
            "SUPPORTDESK_MAX_SOCKETS_PER_VISITOR": "3",
            "SUPPORTDESK_MAX_SOCKETS_PER_IP": "5",
        },
        name="daphne-capped",
    )
    yield server
    server.stop()


def test_sockets_are_capped_per_visitor_token_and_per_address(cast, capped):
    _, token = chat.start_session(name="Mallory", email="m@example.com")
    opened = []
    for _ in range(3):
        ws, first = visitor_socket(capped, token)
        assert refused(ws, first) is None
        opened.append(ws)
    ws, first = visitor_socket(capped, token)
    assert refused(ws, first) == "too_many_sockets"
    # Other tokens from the same address: up to the address cap (5 in all).
    for n in range(2):
        _, other = chat.start_session(name=f"M{n}", email=f"m{n}@example.com")
        ws, first = visitor_socket(capped, other)
        assert refused(ws, first) is None
        opened.append(ws)
    _, one_more = chat.start_session(name="M9", email="m9@example.com")
    ws, first = visitor_socket(capped, one_more)
    assert refused(ws, first) == "too_many_sockets"
    # Closing one frees its place.
    opened.pop().close()
    time.sleep(0.5)
    ws, first = visitor_socket(capped, one_more)
    assert refused(ws, first) is None
    opened.append(ws)
    # Agents are never counted against visitors.
    client = Client()
    client.force_login(cast.alice)
    with connect(
        f"{capped.ws_url}/ws/agent/",
        additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
        origin=capped.url,
        open_timeout=10,
    ) as agent:
        assert json.loads(agent.recv(timeout=10))["type"] == "hello"
    for ws in opened:
        ws.close()


def test_agents_keep_headroom_and_healthz_reports_exhaustion(
    cast, transactional_db, tmp_path, live_server_env
):
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    server = start_daphne(
        tmp_path,
        {
            **live_server_env,
            # Leave room for exactly two visitor sockets in this process.
            "SUPPORTDESK_AGENT_FD_RESERVE": str(soft - 2),
            # Report exhaustion once fewer than this many descriptors are free.
            "SUPPORTDESK_FD_MIN_FREE": str(soft),
        },
        name="daphne-reserve",
    )
    try:
        tokens = [chat.start_session(name=f"V{n}", email=f"v{n}@example.com")[1] for n in range(3)]
        first_two = [visitor_socket(server, token) for token in tokens[:2]]
        assert all(refused(ws, first) is None for ws, first in first_two)
        ws, first = visitor_socket(server, tokens[2])
        assert refused(ws, first) == "server_busy"
        client = Client()
        client.force_login(cast.alice)
        with connect(
            f"{server.ws_url}/ws/agent/",
            additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
            origin=server.url,
            open_timeout=10,
        ) as agent:
            assert json.loads(agent.recv(timeout=10))["type"] == "hello"
        try:
            urllib.request.urlopen(f"{server.url}/healthz", timeout=10)
            raise AssertionError("healthz said 200 with descriptors exhausted")
        except urllib.error.HTTPError as error:
            assert error.code == 503
            body = json.loads(error.read())
        fds = body["checks"]["file_descriptors"]
        assert fds["ok"] is False and fds["error"] == "file descriptors exhausted"
        assert fds["visitor_sockets"] == 2
        for ws, _ in first_two:
            ws.close()
    finally:
        server.stop()
