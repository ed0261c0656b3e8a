"""Findings 6, 9 and 11: agent sockets compare the whole Origin; hostile JSON gets a 400 or an
`error` frame and the socket lives; a temporary database error on inbound mail is a 503 with
Retry-After (never "400 unparseable"), and SQLite keeps its busy timeout however it is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.message import EmailMessage
from email.utils import make_msgid

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from csat import services as csat_services
from tests import factories
from tickets.inbound import sign
from tickets.models import InboundEmail, Ticket

DEEP = "[" * 30_000 + "]" * 30_000
SURROGATE = '{"rating": 5, "comment": "\\ud800 broken"}'


# --- finding 6: Origin by scheme, host and port ---------------------------------------------------


def _agent_socket(server, origin: str, cookie: str):
    return connect(
        f"{server.ws_url}/ws/agent/",
        additional_headers={"Cookie": cookie, "Origin": origin},
        open_timeout=10,
    )


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def live_server_env(live_server_env):
    return {**live_server_env, "CSRF_TRUSTED_ORIGINS": "https://desk.example.com"}


def test_agent_sockets_refuse_another_port_or_scheme_of_our_host(cast, live_server):
    cookie = _cookie(cast.bob)
    port = live_server.port
    for origin in (
        "http://127.0.0.1:9999",
        f"https://127.0.0.1:{port}",
        "http://127.0.0.1",
        f"http://evil.example:{port}",
        "null",
    ):
        with pytest.raises(InvalidStatus) as refused:
            _agent_socket(live_server, origin, cookie)
        assert refused.value.response.status_code == 403, origin
    with _agent_socket(live_server, f"http://127.0.0.1:{port}", cookie) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    # CSRF_TRUSTED_ORIGINS (a proxy's public origin) is trusted too.
    with _agent_socket(live_server, "https://desk.example.com", cookie) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"


# --- finding 9: hostile JSON ----------------------------------------------------------------------


def test_hostile_json_to_the_heartbeat_is_400(cast):
    client = Client()
    client.force_login(cast.alice)
    for body in (DEEP, '{"visible": true, "x": "\\udfff"}', "[" * 100 + "]" * 100):
        response = client.post("/team/heartbeat", body, content_type="application/json")
        assert response.status_code == 400, body[:40]


def test_hostile_json_to_the_csat_form_is_refused_not_500(cast):
    ticket = factories.TicketFactory()
    survey = csat_services.request_for_ticket(ticket, send_email=False)
    url = f"/csat/{csat_services.issue_token(survey)}/"
    for body in (DEEP, SURROGATE):
        response = Client().post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
    survey.refresh_from_db()
    assert survey.rating is None


def test_hostile_json_to_the_api_is_400(api_client):
    for body in (DEEP, '{"subject": "\\ud800", "body": "x", "customer": {"email": "a@b.c"}}'):
        response = api_client.post("/api/v1/tickets", body, content_type="application/json")
        assert response.status_code in (400, 422), (body[:40], response.status_code)
    assert not Ticket.objects.exists()


def test_hostile_frames_get_an_error_frame_and_the_socket_lives(cast, live_server):
    from accounts.services import issue_api_token

    with connect(
        f"{live_server.ws_url}/ws/agent/",
        additional_headers={"Authorization": f"Bearer {issue_api_token(cast.alice)}"},
        origin=live_server.url,
        open_timeout=10,
        max_size=None,
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        for frame in (DEEP, '{"type": "ping", "x": "\\ud800"}', "x" * (20 * 1024 * 1024)):
            ws.send(frame)
            reply = json.loads(ws.recv(timeout=30))
            while reply["type"] != "error":
                reply = json.loads(ws.recv(timeout=30))
            assert reply["code"] in ("invalid_json", "too_large"), reply
        ws.send(json.dumps({"type": "ping"}))
        reply = json.loads(ws.recv(timeout=10))
        while reply["type"] != "pong":
            reply = json.loads(ws.recv(timeout=10))


# --- finding 11: temporary database errors on inbound mail ----------------------------------------


def _mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Ann <ann@example.com>"
    message["To"] = "support@support.example.com"
    message["Subject"] = "Where is my parcel?"
    message["Message-ID"] = make_msgid()
    message.set_content("It did not arrive.")
    return message.as_bytes()


def _post(client: Client, raw: bytes):
    return client.post(
        "/api/v1/inbound/email",
        data=raw,
        content_type="message/rfc822",
        HTTP_X_SUPPORTDESK_SIGNATURE=sign(raw, settings.SUPPORTDESK_INBOUND_SECRET),
    )


def test_a_locked_table_answers_503_with_retry_after_and_keeps_the_mail(transactional_db):
    raw = _mail()
    db = settings.DATABASES["default"]
    holder = psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=False
    )
    try:
        holder.execute("LOCK TABLE customers_customeremail IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        response = _post(Client(), raw)
        assert response.status_code == 503, response.content
        assert response["Retry-After"] == "5"
        assert response.json()["code"] == "unavailable"
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    kept = InboundEmail.objects.get()
    assert bytes(kept.raw) == raw and kept.error.startswith("Temporary")
    # The mail server retries: the same message is filed now.
    again = _post(Client(), raw)
    assert again.status_code == 202, again.content
    assert Ticket.objects.count() == 1


def test_sqlite_keeps_its_busy_timeout_when_given_as_database_url(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
    }
    env.pop("REDIS_URL", None)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['OPTIONS']['timeout'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "20"


# --- decisions: an ended chat, and who lists everyone's grants ------------------------------------


def test_a_visitor_writing_into_an_ended_chat_is_refused_clearly(db):
    from livechat import services as chat

    conversation, _ = chat.start_session(name="Ben", email="ben@shop.example")
    chat.post_message(conversation.pk, author_type="visitor", body="hello", client_id="c1")
    chat.end_conversation(conversation.pk)
    with pytest.raises(chat.ChatError) as refused:
        chat.post_message(
            conversation.pk, author_type="visitor", body="still there?", client_id="c2"
        )
    assert refused.value.code == "chat_ended"
    assert not conversation.messages.filter(client_id="c2").exists()
