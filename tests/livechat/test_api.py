from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from livechat import services
from livechat.models import ChatMessage, Conversation
from tickets.models import FollowUp, Ticket


def _post(client: Client, url: str, payload: dict):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def visitor(db) -> Client:
    return Client()


def test_widget_session_returns_token_and_socket_url(visitor):
    response = _post(
        visitor,
        "/api/v1/widget/sessions",
        {"name": "Ben", "email": "ben@shop.example", "page_url": "http://shop.example/p/1"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["websocket_url"] == f"ws://testserver/ws/chat/?token={body['visitor_token']}"
    identity = services.read_visitor_token(body["visitor_token"])
    assert identity.conversation_id == body["conversation_id"] and not body["verified"]
    assert body["agents_online"] is False


def test_widget_session_with_token_continues_the_conversation(visitor):
    first = _post(visitor, "/api/v1/widget/sessions", {"name": "Ben"}).json()
    again = _post(
        visitor, "/api/v1/widget/sessions", {"visitor_token": first["visitor_token"]}
    ).json()
    assert again["conversation_id"] == first["conversation_id"]


def test_verified_identity_by_user_hash(visitor, settings):
    settings.SUPPORTDESK_WIDGET_SECRET = "shop-secret"
    good = services.expected_user_hash("ben@shop.example")
    ok = _post(visitor, "/api/v1/widget/sessions", {"email": "ben@shop.example", "user_hash": good})
    assert ok.status_code == 201 and ok.json()["verified"] is True
    bad = _post(
        visitor, "/api/v1/widget/sessions", {"email": "eve@shop.example", "user_hash": good}
    )
    assert bad.status_code == 403
    assert bad.json()["code"] == "bad_user_hash"


def test_offline_form_becomes_a_web_ticket(visitor):
    response = _post(
        visitor,
        "/api/v1/widget/offline",
        {"name": "Ben", "email": "ben@shop.example", "message": "Do you ship to Norway?"},
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(reference=response.json()["reference"])
    assert ticket.channel == "web" and ticket.subject == "Do you ship to Norway?"
    assert ticket.customer.primary_email == "ben@shop.example"


def test_chats_api_needs_auth(visitor):
    assert visitor.get("/api/v1/chats").status_code == 401


def test_agent_lists_joins_and_answers_a_chat(api_client, cast):
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    services.post_message(conversation.pk, author_type="visitor", body="Where are my shoes?")
    Conversation.objects.create(visitor_name="Silent")  # no message yet: not in the queue

    waiting = api_client.get("/api/v1/chats?status=waiting").json()["items"]
    assert [c["id"] for c in waiting] == [conversation.pk]

    joined = api_client.post(f"/api/v1/chats/{conversation.pk}/join")
    assert joined.status_code == 200
    assert joined.json()["status"] == "active" and joined.json()["assignee_id"] == cast.alice.pk
    assert api_client.get("/api/v1/chats?status=waiting").json()["items"] == []

    sent = _post(
        api_client, f"/api/v1/chats/{conversation.pk}/messages", {"body": "Hi!", "client_id": "h-1"}
    )
    assert sent.status_code == 201 and sent.json()["seq"] == 3
    again = _post(
        api_client, f"/api/v1/chats/{conversation.pk}/messages", {"body": "Hi!", "client_id": "h-1"}
    )
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]

    detail = api_client.get(f"/api/v1/chats/{conversation.pk}").json()
    assert [m["seq"] for m in detail["messages"]] == [1, 2, 3]
    assert detail["messages"][2]["author"] == {"type": "agent", "name": "Alice Agent"}
    assert api_client.get("/api/v1/chats/999999").status_code == 404


def test_escalate_to_email_creates_ticket_and_sends_first_email(
    api_client, cast, smtp_sink, eager_celery, django_capture_on_commit_callbacks
):
    conversation, _ = services.start_session(name="Ben", email="ben@shop.example")
    services.post_message(conversation.pk, author_type="visitor", body="Email me the size chart")
    services.join_conversation(conversation.pk, agent=cast.alice)
    follow_up_at = timezone.now() + timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            api_client,
            f"/api/v1/chats/{conversation.pk}/escalate",
            {
                "note": "Here is the size chart: EU 42 = US 9.",
                "follow_up_at": follow_up_at.isoformat(),
            },
        )
    assert response.status_code == 201
    ticket = Ticket.objects.get(pk=response.json()["ticket_id"])
    assert ticket.channel == "chat" and ticket.assignee_id == cast.alice.pk
    first, reply = ticket.messages.order_by("created_at", "pk")[:2]
    assert "Ben: Email me the size chart" in first.body_text
    assert reply.body_text == "Here is the size chart: EU 42 = US 9."

    [email] = smtp_sink.wait_for(1)
    assert email["To"] == "ben@shop.example"
    assert "size chart" in email.get_body(("plain",)).get_content()
    assert FollowUp.objects.get(ticket=ticket).send_at == follow_up_at

    conversation.refresh_from_db()
    assert conversation.ticket_id == ticket.pk
    notice = ChatMessage.objects.filter(conversation=conversation).order_by("-seq").first()
    assert notice.author_type == "system" and ticket.reference in notice.body

    # Escalating again returns the same ticket instead of a second one.
    again = _post(api_client, f"/api/v1/chats/{conversation.pk}/escalate", {})
    assert again.json()["ticket_id"] == ticket.pk


def test_escalate_without_any_email_is_refused(api_client):
    conversation = Conversation.objects.create(visitor_name="Anon")
    response = _post(api_client, f"/api/v1/chats/{conversation.pk}/escalate", {})
    assert response.status_code == 422 and response.json()["code"] == "no_email"


def test_demo_shop_embeds_the_widget_and_the_script_is_small(visitor):
    import gzip

    page = visitor.get("/demo/shop/")
    assert page.status_code == 200
    assert b'<script src="/widget.js" async></script>' in page.content
    script = visitor.get("/widget.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert len(gzip.compress(script.content)) < 15 * 1024


def test_console_requires_login(visitor, cast):
    assert visitor.get("/chats/").status_code == 302
    visitor.force_login(cast.alice)
    assert visitor.get("/chats/").status_code == 200
