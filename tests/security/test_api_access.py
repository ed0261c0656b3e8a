"""API access: missing, malformed and wrong tokens; tokens of people who left; a visitor's or
customer's credential used elsewhere; role escalation and mass assignment of fields."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from accounts.models import User
from livechat.models import ChatMessage
from tickets.models import Ticket
from wow_credits.models import Grant, Story

BAD_AUTHORIZATION = [
    "",
    "Bearer",
    "Bearer ",
    "Basic YWxpY2U6cGFzc3dvcmQ=",
    "Token abc",
    "Bearer " + "a" * 10_000,
    "Bearer \u202etoken",
    "Bearer ' OR '1'='1",
]


@pytest.mark.parametrize("header", BAD_AUTHORIZATION)
def test_missing_or_malformed_tokens_get_401_with_a_code(world, header):
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    response = client.get(f"/api/v1/tickets/{world.ticket.pk}")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "subject" not in response.content.decode()


def test_the_token_of_a_deactivated_agent_stops_working(world):
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    response = world.client("agent", api=True).get("/api/v1/tickets")
    assert response.status_code == 401


def test_a_visitor_token_opens_no_api_door_even_to_its_own_chat(world):
    visitor = world.client("visitor")
    for path in (f"/api/v1/chats/{world.conversation.pk}", "/api/v1/chats", "/api/v1/tickets"):
        response = visitor.get(path)
        assert response.status_code == 401, path
    posted = visitor.post(
        f"/api/v1/chats/{world.conversation.pk}/messages",
        {"body": "I am an agent now", "client_id": "x"},
        content_type="application/json",
    )
    assert posted.status_code == 401
    assert not ChatMessage.objects.filter(body="I am an agent now").exists()


def test_another_visitors_token_does_not_continue_their_conversation(world):
    """Presenting a stolen token with one's own email starts a new chat; the victim's is closed."""
    response = Client().post(
        "/api/v1/widget/sessions",
        {"name": "Mallory", "email": "mallory@evil.example", "visitor_token": world.visitor_token},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["conversation_id"] != world.conversation.pk


def test_a_csat_link_rates_only_its_own_ticket(world):
    from csat.models import Survey

    other = Survey.objects.create(ticket=world.other_ticket, customer=world.other_customer)
    tampered = world.survey_token[:-2] + ("AA" if not world.survey_token.endswith("AA") else "BB")
    for token in (tampered, "garbage", str(other.pk)):
        response = Client().post(f"/csat/{token}/", {"rating": "1"})
        assert response.status_code in (400, 403, 404), token
    other.refresh_from_db()
    world.survey.refresh_from_db()
    assert other.rating is None and world.survey.rating is None


def test_an_agent_cannot_make_themselves_admin_through_the_admin_site(world):
    agent = world.users["agent"]
    client = world.client("agent")
    response = client.post(
        f"/admin/accounts/user/{agent.pk}/change/",
        {"email": agent.email, "role": "admin", "is_staff": "on", "is_superuser": "on"},
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    agent.refresh_from_db()
    assert (agent.role, agent.is_staff, agent.is_superuser) == ("agent", False, False)


def test_extra_fields_on_a_ticket_patch_are_ignored(world):
    api = world.client("agent", api=True)
    ticket = world.ticket
    response = api.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {
            "priority": "high",
            "id": world.other_ticket.pk,
            "customer_id": world.other_customer.pk,
            "reference": "HIJACK",
            "created_at": "2000-01-01T00:00:00Z",
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.priority == "high"
    assert fresh.customer_id == world.customer.pk
    assert fresh.reference == ticket.reference and fresh.created_at == ticket.created_at
    assert Ticket.objects.get(pk=world.other_ticket.pk).priority == world.other_ticket.priority


def test_a_grant_is_always_by_the_caller_whatever_the_payload_says(world):
    api = world.client("agent", api=True)
    response = api.post(
        "/api/v1/wow/grants",
        {
            "kind": "refund",
            "customer_email": world.customer.emails.first().address,
            "order_external_id": world.order.external_id,
            "amount": "5.00",
            "reason": "Sorry",
            "agent": world.users["admin"].pk,
            "agent_id": world.users["admin"].pk,
            "status": "executed",
            "undo_until": "2000-01-01T00:00:00Z",
        },
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.content
    grant = Grant.objects.get(pk=response.json()["id"])
    assert grant.agent_id == world.users["agent"].pk
    assert grant.status == "pending"
    assert grant.undo_until > grant.created_at


def test_a_story_is_always_authored_by_the_caller(world):
    api = world.client("agent", api=True)
    response = api.post(
        "/api/v1/wow/stories",
        {"title": "Mine", "story": "Did it", "author": world.users["admin"].pk, "author_id": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Story.objects.get(pk=response.json()["id"]).author_id == world.users["agent"].pk


def test_a_json_body_that_is_not_an_object_is_422(world):
    api = world.client("agent", api=True)
    for body in ("[]", '"text"', "null", "{", json.dumps({"subject": ["a"]})):
        response = api.generic("POST", "/api/v1/tickets", body, "application/json")
        assert response.status_code in (400, 422), body
        assert response.json()["code"] in ("invalid", "bad_request")


@pytest.mark.parametrize("user_hash", ["é" * 64, "\u202e" + "a" * 63, "ff" * 32])
def test_a_wrong_user_hash_of_any_text_is_403_not_a_crash(db, user_hash):
    """Found by Schemathesis: a non-ASCII user_hash made compare_digest raise (500)."""
    response = Client().post(
        "/api/v1/widget/sessions",
        {"name": "Sam", "email": "sam@shop.example", "user_hash": user_hash},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "bad_user_hash"
