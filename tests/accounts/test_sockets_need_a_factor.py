"""With SUPPORTDESK_REQUIRE_2FA on, an agent socket opened with the session of someone who has
not set up a second factor is refused (4401), on a live daphne; after the setup it opens."""

from __future__ import annotations

import json

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests import factories
from tests.helpers.servers import start_daphne


@pytest.fixture
def strict_server(transactional_db, tmp_path, live_server_env):
    server = start_daphne(tmp_path, {**live_server_env, "SUPPORTDESK_REQUIRE_2FA": "true"})
    yield server
    server.stop()


def _agent_socket(server, cookie: str):
    return connect(
        f"{server.ws_url}/ws/agent/",
        additional_headers={"Cookie": cookie},
        origin=server.url,
        open_timeout=10,
    )


@pytest.mark.live
def test_the_agent_socket_needs_a_second_factor_too(strict_server):
    person = factories.AgentFactory(email="socket.user@example.com")
    client = Client()
    client.force_login(person)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    with _agent_socket(strict_server, cookie) as ws:
        error = json.loads(ws.recv(timeout=10))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert error["type"] == "error" and error["code"] == "bad_token"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    Authenticator.objects.create(user=person, type=Authenticator.Type.TOTP, data={"secret": "x"})
    with _agent_socket(strict_server, cookie) as ws:
        hello = json.loads(ws.recv(timeout=10))
    assert hello["type"] == "hello" and hello["user"]["id"] == person.pk
