"""A verified widget visitor's own orders and history: GET /api/v1/widget/orders and friends.

Unverified visitors get 403 `unverified`; another customer's order, chat or ticket is 404.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from livechat import services as chat
from livechat.models import Conversation
from tests import factories
from tickets.models import Status


@pytest.fixture
def ben(db):
    """Ben, a shop customer with two orders (one shipped with UPS) and a solved ticket."""
    customer = factories.CustomerFactory(name="Ben Best", email="ben@shop.example")
    shipped = factories.OrderFactory(customer=customer, external_id="SHOP-1")
    factories.OrderItemFactory(order=shipped, name="Oxford shoes", quantity=2)
    factories.ShipmentFactory(order=shipped, carrier="UPS", tracking="1Z999")
    factories.ShipmentFactory(order=shipped, carrier="Pigeon Post", tracking="PP-1")
    factories.OrderFactory(customer=customer, external_id="SHOP-2")
    ticket = factories.TicketFactory(customer=customer, subject="Laces", status=Status.SOLVED)
    return customer, ticket


def _verified_token(email: str = "ben@shop.example") -> tuple[Conversation, str]:
    return chat.start_session(name="Ben", email=email, user_hash=chat.expected_user_hash(email))


def _client(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_verified_visitor_sees_their_orders_with_tracking(ben) -> None:
    _, token = _verified_token()
    response = _client(token).get("/api/v1/widget/orders")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert {o["external_id"] for o in items} == {"SHOP-1", "SHOP-2"}
    shop1 = next(o for o in items if o["external_id"] == "SHOP-1")
    assert set(shop1) >= {"external_id", "status", "total", "currency", "placed_at", "shipments"}
    assert shop1["items"] == [{"name": "Oxford shoes", "quantity": 2, "price": "120.00"}]
    ups, pigeon = shop1["shipments"]
    assert (ups["carrier"], ups["tracking"], ups["status"]) == ("UPS", "1Z999", "in_transit")
    assert ups["promised_by"] and ups["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999"
    assert pigeon["tracking_url"] == ""  # an unknown carrier: the number, no link


def test_unverified_visitor_gets_403_unverified(ben) -> None:
    _, token = chat.start_session(name="Ben", email="ben@shop.example")  # no user_hash
    for method, path in [
        ("get", "/api/v1/widget/orders"),
        ("get", "/api/v1/widget/orders/SHOP-1"),
        ("get", "/api/v1/widget/history"),
        ("post", "/api/v1/widget/orders/SHOP-1/ask"),
    ]:
        response = getattr(_client(token), method)(path)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["code"] == "unverified"


def test_no_or_forged_token_is_401(ben) -> None:
    assert Client().get("/api/v1/widget/orders").status_code == 401
    assert _client("forged").get("/api/v1/widget/orders").json()["code"] == "unauthorized"


def test_an_order_that_is_not_theirs_is_404(ben) -> None:
    factories.OrderFactory(external_id="EVE-1")  # someone else's
    _, token = _verified_token()
    client = _client(token)
    assert client.get("/api/v1/widget/orders/SHOP-1").status_code == 200
    for method, path in [
        ("get", "/api/v1/widget/orders/EVE-1"),
        ("post", "/api/v1/widget/orders/EVE-1/ask"),
        ("get", "/api/v1/widget/orders/NOPE"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert [o["external_id"] for o in client.get("/api/v1/widget/orders").json()["items"]] != [
        "EVE-1"
    ]


def test_asking_about_an_order_attaches_it_for_the_agent(ben, cast) -> None:
    conversation, token = _verified_token()
    response = _client(token).post("/api/v1/widget/orders/SHOP-1/ask")
    assert response.json() == {"conversation_id": conversation.pk, "order": "SHOP-1"}
    conversation.refresh_from_db()
    assert conversation.order.external_id == "SHOP-1"
    agent = Client()
    agent.force_login(cast.alice)
    detail = agent.get(f"/api/v1/chats/{conversation.pk}").json()
    assert detail["order_id"] == conversation.order_id
    # The chat then starts on the same conversation (the widget sends its token).
    again, _ = chat.start_session(
        name="Ben",
        email="ben@shop.example",
        user_hash=chat.expected_user_hash("ben@shop.example"),
        visitor_token=token,
    )
    assert again.pk == conversation.pk


def test_history_lists_earlier_chats_and_tickets_read_only_and_reopens(ben) -> None:
    _, ticket = ben
    earlier, _ = _verified_token()
    chat.post_message(earlier.pk, author_type="visitor", body="Do you have laces?")
    factories.TicketFactory(subject="Eve's ticket")  # another customer's
    _, token = _verified_token()
    client = _client(token)
    history = client.get("/api/v1/widget/history").json()
    assert [c["id"] for c in history["chats"]] == [earlier.pk]
    assert [t["subject"] for t in history["tickets"]] == ["Laces"]
    transcript = client.get(f"/api/v1/widget/history/chats/{earlier.pk}").json()
    assert [m["body"] for m in transcript["messages"]] == ["Do you have laces?"]
    reopened = client.post(
        f"/api/v1/widget/history/tickets/{ticket.pk}/reopen",
        data=json.dumps({"message": "They broke again"}),
        content_type="application/json",
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    other = factories.TicketFactory(subject="Eve's other ticket")
    refused = client.post(
        f"/api/v1/widget/history/tickets/{other.pk}/reopen",
        data=json.dumps({"message": "hi"}),
        content_type="application/json",
    )
    assert refused.status_code == 404


def test_widget_endpoints_answer_cors_with_the_authorization_header(ben) -> None:
    response = Client().options(
        "/api/v1/widget/orders",
        HTTP_ORIGIN="http://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert "Authorization" in response["Access-Control-Allow-Headers"]
