"""Postgres stopped under a live daphne: requests fail cleanly (503, JSON for the API, a short page
otherwise, never a stack trace) and everything works again once it is back, with no manual step."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.services import issue_api_token
from tests.helpers.reliability import PostgresControl, request, wait_until

pytestmark = pytest.mark.live


def test_requests_fail_cleanly_while_postgres_is_down_and_recover_by_themselves(cast, live_server):
    token = {"Authorization": f"Bearer {issue_api_token(cast.alice)}"}
    browser = Client()
    browser.force_login(cast.alice)
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    api = f"{live_server.url}/api/v1/tickets"
    inbox = f"{live_server.url}/inbox/"
    health = f"{live_server.url}/healthz"
    assert request("GET", api, headers=token)[0] == 200
    assert request("GET", inbox, headers=cookie)[0] == 200

    postgres = PostgresControl()
    with postgres.stopped():
        status, kind, text = request("GET", api, headers=token)
        assert (status, kind) == (503, "application/json"), text
        assert json.loads(text)["code"] == "unavailable"
        status, kind, text = request(
            "POST",
            f"{live_server.url}/api/v1/widget/sessions",
            body={"name": "Ben", "email": "ben@shop.example", "page_url": live_server.url},
        )
        assert status == 503 and json.loads(text)["code"] == "unavailable", text
        status, kind, text = request("GET", inbox, headers=cookie)
        assert status == 503 and kind.startswith("text/html"), text
        assert "Traceback" not in text and "OperationalError" not in text
        status, _, text = request("GET", health)
        assert status == 503 and json.loads(text)["checks"]["database"]["ok"] is False
        assert "Traceback" not in live_server.log().split("Database unavailable")[0][-2000:]

    # Back without a restart of daphne: the next requests open fresh connections.
    wait_until(lambda: request("GET", health)[0] == 200, 20, "healthz green again")
    assert request("GET", api, headers=token)[0] == 200
    assert request("GET", inbox, headers=cookie)[0] == 200
    status, _, text = request(
        "POST",
        f"{live_server.url}/api/v1/widget/sessions",
        body={"name": "Ben", "email": "ben@shop.example", "page_url": live_server.url},
    )
    assert status == 201, text
