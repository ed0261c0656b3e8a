"""CSRF: every form and htmx POST made with a session cookie needs the token, the API too when
it is used with the session; a bearer token (no cookie) needs none. A refused request changes
nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from livechat.models import ChatMessage
from tickets.models import Message, Ticket
from wow_credits.models import Celebration, Grant


def _session_client(world, role: str = "agent") -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[role])
    return client


def _token(client: Client, path: str = "/inbox/") -> str:
    client.get(path)
    return client.cookies["csrftoken"].value


# (what, method path builder, form data, a check that nothing happened)
def _nothing_replied(w) -> bool:
    return not Message.objects.filter(ticket=w.ticket, body_text__contains="forged").exists()


CASES = {
    "ticket reply form": (
        lambda w: f"/tickets/{w.ticket.pk}/reply",
        {"body": "forged reply", "internal": "", "confirm": "1"},
        _nothing_replied,
    ),
    "ticket update (htmx)": (
        lambda w: f"/tickets/{w.ticket.pk}/update",
        {"status": "solved", "priority": "urgent"},
        lambda w: Ticket.objects.get(pk=w.ticket.pk).status != "solved",
    ),
    "grant undo": (
        lambda w: f"/wow/grants/{w.grant.pk}/undo",
        {},
        lambda w: Grant.objects.get(pk=w.grant.pk).status == "pending",
    ),
    "celebrate a story": (
        lambda w: f"/wall/{w.story.pk}/celebrate",
        {},
        lambda w: not Celebration.objects.filter(story=w.story).exists(),
    ),
    "logout": (lambda w: "/logout/", {}, lambda w: True),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("htmx", [False, True])
def test_session_posts_without_the_token_are_refused_and_change_nothing(world, case, htmx):
    path, data, unchanged = CASES[case]
    client = _session_client(world)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = client.post(path(world), data, **headers)

    assert response.status_code == 403
    assert unchanged(world)
    # Still logged in: a forged logout did not log anyone out either.
    assert client.get("/inbox/").status_code == 200


def test_a_wrong_token_is_refused_like_a_missing_one(world):
    client = _session_client(world)
    _token(client)
    response = client.post(
        f"/tickets/{world.ticket.pk}/reply",
        {"body": "forged reply", "confirm": "1"},
        HTTP_X_CSRFTOKEN="A" * 64,
    )
    assert response.status_code == 403
    assert _nothing_replied(world)


def test_the_htmx_header_token_is_accepted(world):
    client = _session_client(world)
    token = _token(client)
    response = client.post(
        f"/tickets/{world.ticket.pk}/update",
        {"status": "pending", "priority": "high", "type": "question"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code in (200, 302)
    assert Ticket.objects.get(pk=world.ticket.pk).priority == "high"


def test_the_api_with_a_session_needs_the_token(world):
    client = _session_client(world)
    url = f"/api/v1/chats/{world.conversation.pk}/messages"
    payload = {"body": "forged chat line", "client_id": "c1"}

    refused = client.post(url, payload, content_type="application/json")

    assert refused.status_code == 403
    assert not ChatMessage.objects.filter(body="forged chat line").exists()
    token = _token(client)
    accepted = client.post(url, payload, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_a_bearer_token_needs_no_csrf_token(world):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {world.tokens['agent']}")
    response = client.post(
        f"/api/v1/tickets/{world.ticket.pk}/replies",
        {"body": "from an integration", "internal": True},
        content_type="application/json",
    )
    assert response.status_code == 201


def test_a_login_form_posted_from_another_site_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/login/", {"username": world.users["agent"].email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
