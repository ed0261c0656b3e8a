from __future__ import annotations

import json
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from accounts.services import issue_api_token
from tests import factories
from wow_credits.models import Celebration, Grant, Story


def post(client, path, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def refund_body(order, **extra):
    return {
        "kind": "refund",
        "customer_email": order.customer.primary_email,
        "order_external_id": order.external_id,
        "amount": "50.00",
        "reason": "Wrong address before the wedding",
        **extra,
    }


def test_create_grant(api_client, cast, order):
    ticket = factories.TicketFactory(customer=order.customer)
    response = post(api_client, "/api/v1/wow/grants", refund_body(order, ticket_id=ticket.pk), "k1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "refund" and data["status"] == "pending"
    assert data["amount"] == "50.00"
    assert data["reason"] == "Wrong address before the wedding"
    assert data["agent"]["email"] == "alice@example.com"
    assert data["ticket_id"] == ticket.pk
    assert data["undo_until"]
    assert api_client.get(f"/api/v1/wow/grants/{data['id']}").json()["id"] == data["id"]


def test_idempotency_key_is_required(api_client, order):
    response = post(api_client, "/api/v1/wow/grants", refund_body(order))
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"


def test_same_key_same_body_is_the_same_grant(api_client, order):
    first = post(api_client, "/api/v1/wow/grants", refund_body(order), "k")
    again = post(api_client, "/api/v1/wow/grants", refund_body(order), "k")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Grant.objects.count() == 1


def test_same_key_other_body_is_409(api_client, order):
    post(api_client, "/api/v1/wow/grants", refund_body(order), "k")
    response = post(api_client, "/api/v1/wow/grants", refund_body(order, amount="51"), "k")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_impossible_amounts_are_422(api_client, order):
    cases = [
        refund_body(order, amount="500"),
        refund_body(order, amount="-1"),
        refund_body(order, amount="lots"),
        refund_body(order, reason=""),
        refund_body(order, order_external_id="NOPE"),
        refund_body(order, customer_email="nobody@nowhere.example"),
    ]
    for i, body in enumerate(cases):
        response = post(api_client, "/api/v1/wow/grants", body, f"bad-{i}")
        assert response.status_code == 422, (body, response.content)
        assert set(response.json()) >= {"detail", "code"}
    assert not Grant.objects.exists()


def test_undo_and_window(api_client, order):
    created = post(api_client, "/api/v1/wow/grants", refund_body(order), "k").json()
    undone = api_client.post(f"/api/v1/wow/grants/{created['id']}/undo")
    assert undone.status_code == 200 and undone.json()["status"] == "undone"
    other = post(api_client, "/api/v1/wow/grants", refund_body(order), "k2").json()
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        late = api_client.post(f"/api/v1/wow/grants/{other['id']}/undo")
    assert late.status_code == 409
    assert late.json()["code"] == "undo_window_closed"


def test_retry_of_a_grant_that_did_not_fail_is_409(api_client, order):
    created = post(api_client, "/api/v1/wow/grants", refund_body(order), "k").json()
    response = api_client.post(f"/api/v1/wow/grants/{created['id']}/retry")
    assert response.status_code == 409


def test_list_grants_filters(api_client, cast, order):
    post(api_client, "/api/v1/wow/grants", refund_body(order), "a")
    post(
        api_client,
        "/api/v1/wow/grants",
        {"kind": "vip_upgrade", "customer_email": order.customer.primary_email, "reason": "r"},
        "b",
    )
    other = factories.OrderFactory()
    post(api_client, "/api/v1/wow/grants", refund_body(other), "c")
    email = order.customer.primary_email
    assert len(api_client.get(f"/api/v1/wow/grants?customer={email}").json()["items"]) == 2
    assert len(api_client.get("/api/v1/wow/grants?agent=alice@example.com").json()["items"]) == 3
    # Everyone's grants (with amounts) are the manager reports' business: agents get 403.
    assert api_client.get("/api/v1/wow/grants?kind=vip_upgrade").status_code == 403
    assert api_client.get(f"/api/v1/wow/grants?agent={cast.bob.pk}").status_code == 403
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.carol)}")
    assert len(manager.get("/api/v1/wow/grants?kind=vip_upgrade").json()["items"]) == 1
    assert manager.get(f"/api/v1/wow/grants?agent={cast.bob.pk}").json()["items"] == []
    page = manager.get("/api/v1/wow/grants?limit=2").json()
    rest = manager.get(f"/api/v1/wow/grants?limit=2&cursor={page['next_cursor']}").json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_coworker_bonus_over_allowance_is_422(api_client, cast):
    body = {"kind": "coworker_bonus", "recipient_email": "bob@example.com", "reason": "hero"}
    assert post(api_client, "/api/v1/wow/grants", {**body, "amount": "40"}, "x").status_code == 201
    over = post(api_client, "/api/v1/wow/grants", {**body, "amount": "11"}, "y")
    assert over.status_code == 422 and over.json()["code"] == "allowance_exceeded"


def test_unauthenticated_is_401(client, order):
    response = post(client, "/api/v1/wow/grants", refund_body(order), "k")
    assert response.status_code == 401


def test_stories_create_list_celebrate(api_client, cast, order):
    grant = post(api_client, "/api/v1/wow/grants", refund_body(order), "k").json()
    response = post(
        api_client,
        "/api/v1/wow/stories",
        {
            "title": "The best man's shoes",
            "story": "Overnight reship before the wedding.",
            "values": ["deliver-wow-through-service", "be-humble"],
            "ticket_id": None,
            "chat_id": 7,
            "grant_ids": [grant["id"]],
        },
    )
    assert response.status_code == 201, response.content
    story = response.json()
    assert story["values"] == ["deliver-wow-through-service", "be-humble"]
    assert [g["id"] for g in story["grants"]] == [grant["id"]]
    assert story["author"]["email"] == "alice@example.com"
    assert story["celebrations"] == 0 and story["chat_id"] == 7

    for _ in range(2):
        r = api_client.post(f"/api/v1/wow/stories/{story['id']}/celebrate")
        assert r.status_code == 200 and r.json() == {"celebrations": 1}
    assert Celebration.objects.count() == 1

    listed = api_client.get("/api/v1/wow/stories?value=be-humble").json()
    assert [s["id"] for s in listed["items"]] == [story["id"]]
    assert listed["items"][0]["celebrations"] == 1 and listed["next_cursor"] is None
    assert api_client.get("/api/v1/wow/stories?value=do-more-with-less").json()["items"] == []
    assert len(api_client.get("/api/v1/wow/stories?agent=alice@example.com").json()["items"]) == 1


def test_story_with_unknown_value_is_422(api_client):
    response = post(
        api_client, "/api/v1/wow/stories", {"title": "t", "story": "s", "values": ["nope"]}
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_value"
    assert not Story.objects.exists()
