"""Rate limits on the public endpoints: 429 with Retry-After and {"detail", "code"}, refused
before any work (nothing stored), counted per client address and, for login, per account.

Counters live in the shared Redis cache, so each test uses its own client address and accounts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import Client

from core import ratelimit
from livechat.models import Conversation
from tests import factories
from tests.helpers.chat import post_json
from tests.helpers.inbound import build_email, post_raw
from tests.helpers.servers import start_daphne
from tickets.models import InboundEmail, Ticket


@pytest.fixture
def limits(settings):
    settings.SUPPORTDESK_RATELIMIT_ENABLED = True
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"
    # Windows are fixed (core.ratelimit): an hour long, so that a test's few requests do not
    # straddle the start of a new window (with a minute, a test failed about once in 60 runs).
    settings.SUPPORTDESK_RATELIMITS = {
        "widget-sessions": (3, 3600),
        "widget-offline": (2, 3600),
        "inbound-email": (2, 3600),
        "login-ip": (3, 3600),
        "login-user": (4, 3600),
        "web-form": (2, 3600),
        "csat": (2, 3600),
    }
    return settings.SUPPORTDESK_RATELIMITS


def _ip() -> str:
    """A fresh client address per test: counters of earlier tests must not leak in."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _assert_limited(response) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == "rate_limited"
    assert "try again" in body["detail"]


def test_widget_sessions_over_the_limit_get_429_and_start_no_conversation(db, limits):
    client = Client(REMOTE_ADDR=_ip())
    url = "/api/v1/widget/sessions"
    for n in range(3):
        assert (
            client.post(url, {"name": f"v{n}"}, content_type="application/json").status_code == 201
        )
    before = Conversation.objects.count()

    _assert_limited(client.post(url, {"name": "one too many"}, content_type="application/json"))

    assert Conversation.objects.count() == before
    # Another address is not affected.
    other = Client(REMOTE_ADDR=_ip())
    assert other.post(url, {"name": "x"}, content_type="application/json").status_code == 201


def test_offline_messages_over_the_limit_file_no_ticket(db, limits):
    client = Client(REMOTE_ADDR=_ip())
    payload = {"email": "ben@shop.example", "message": "Call me"}
    for _ in range(2):
        response = client.post("/api/v1/widget/offline", payload, content_type="application/json")
        assert response.status_code == 201
    before = Ticket.objects.count()

    _assert_limited(client.post("/api/v1/widget/offline", payload, content_type="application/json"))

    assert Ticket.objects.count() == before


def test_inbound_email_flood_is_refused_before_anything_is_stored(db, limits, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    client = Client(REMOTE_ADDR=_ip())
    for _ in range(2):
        assert post_raw(client, build_email().as_bytes()).status_code == 202

    refused = post_raw(client, build_email().as_bytes())

    # A temporary refusal: the MTA keeps the message and retries; nothing half-stored here.
    _assert_limited(refused)
    assert InboundEmail.objects.count() == 2


def test_login_is_limited_per_address_even_with_the_right_password(db, limits, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = factories.AgentFactory(email=f"{uuid.uuid4().hex[:8]}@example.com", password="pw-12345")
    client = Client(REMOTE_ADDR=_ip())
    for n in range(3):
        response = client.post("/login/", {"username": f"guess{n}@example.com", "password": "x"})
        assert response.status_code == 200  # the form again, with its error

    response = client.post(
        "/login/", {"username": user.email, "password": "pw-12345"}, HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"Too many requests" in response.content
    assert "_auth_user_id" not in client.session


def test_guessing_one_account_from_many_addresses_meets_a_challenge_not_a_lockout(
    db, limits, settings
):
    """Finding 7 of issue 14: wrong passwords from many addresses must not lock the owner out.
    Past the per-account limit a password alone is not enough (the second factor, or a code
    emailed to the owner), and nobody gets a 429 for the account."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    target = f"{uuid.uuid4().hex[:8]}@example.com"
    factories.AgentFactory(email=target, password="pw-12345")
    for _ in range(4):
        response = Client(REMOTE_ADDR=_ip()).post("/login/", {"username": target, "password": "x"})
        assert response.status_code == 200

    guess = Client(REMOTE_ADDR=_ip()).post("/login/", {"username": target.upper(), "password": "x"})
    assert guess.status_code == 200 and b"data-challenge" in guess.content
    # The owner, from their own address and with the right password: not locked out, challenged.
    owner = Client(REMOTE_ADDR=_ip())
    response = owner.post("/login/", {"username": target, "password": "pw-12345"})
    assert response.status_code == 200 and b"Email me a sign-in code" in response.content
    assert "_auth_user_id" not in owner.session
    # Other accounts can still log in.
    other = f"{uuid.uuid4().hex[:8]}@example.com"
    factories.AgentFactory(email=other, password="pw-12345")
    client = Client(REMOTE_ADDR=_ip())
    assert client.post("/login/", {"username": other, "password": "pw-12345"}).status_code == 302


def test_the_admin_login_form_has_the_same_limit(db, limits):
    client = Client(REMOTE_ADDR=_ip())
    for _ in range(3):
        client.post("/admin/login/", {"username": "root@example.com", "password": "x"})

    _assert_limited(client.post("/admin/login/", {"username": "root@example.com", "password": "x"}))


def test_the_web_form_is_limited_and_files_nothing_more(db, limits):
    client = Client(REMOTE_ADDR=_ip())
    form = {"name": "Pat", "email": "pat@shop.example", "subject": "Hi", "message": "Help"}
    for _ in range(2):
        assert client.post("/support/new", form).status_code == 302
    before = Ticket.objects.count()

    _assert_limited(client.post("/support/new", form))

    assert Ticket.objects.count() == before


def test_csat_posts_are_limited(world, limits):
    client = Client(REMOTE_ADDR=_ip())
    url = f"/csat/{world.survey_token}/"
    for _ in range(2):
        assert client.post(url, {"rating": "5"}).status_code < 400

    _assert_limited(client.post(url, {"rating": "1"}))
    world.survey.refresh_from_db()
    assert world.survey.rating == 5  # the refused change did not land


def test_limits_hold_across_two_daphne_processes_sharing_redis(
    transactional_db, tmp_path, live_server_env
):
    env = {
        **live_server_env,
        "SUPPORTDESK_RATELIMIT_ENABLED": "true",
        "SUPPORTDESK_RATELIMITS": "widget-sessions=4/60",
    }
    # Another test's server may have counted this address's sessions in the same minute.
    ratelimit.forget("widget-sessions", "127.0.0.1")
    first = start_daphne(tmp_path, env, name="daphne-1")
    second = start_daphne(tmp_path, env, name="daphne-2")
    try:
        statuses = []
        for n in range(6):
            server = first if n % 2 == 0 else second
            status, body = post_json(f"{server.url}/api/v1/widget/sessions", {"name": f"v{n}"})
            statuses.append((status, body.get("code")))
    finally:
        first.stop()
        second.stop()
    assert statuses[:4] == [(201, None)] * 4
    assert statuses[4:] == [(429, "rate_limited")] * 2
    assert Conversation.objects.count() == 4


def test_a_bad_limit_setting_stops_startup(tmp_path):
    env = {**os.environ, "SUPPORTDESK_RATELIMITS": "login-ip=lots"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode != 0
    assert "SUPPORTDESK_RATELIMITS" in result.stderr
