"""The customer web form at /support/new: no login, CSRF-protected, a honeypot for bots."""

from __future__ import annotations

import re

from django.test import Client

from tickets.models import Channel, Ticket

FORM = {
    "name": "Ben Best",
    "email": "Ben@Shop.Example",
    "subject": "Where are my shoes?",
    "message": "Order SHOE-1 has not arrived.",
    "website": "",
}


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    html = client.get("/support/new").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client, token


def test_web_form_creates_a_ticket_for_the_customer(db) -> None:
    client, token = _csrf_client()
    response = client.post("/support/new", {**FORM, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/support/thanks"
    assert "Thank you" in client.get(response["Location"]).content.decode()
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.WEB
    assert ticket.subject == "Where are my shoes?"
    assert ticket.customer.name == "Ben Best"
    assert ticket.customer.primary_email == "ben@shop.example"
    assert ticket.messages.get().body_text == "Order SHOE-1 has not arrived."


def test_web_form_without_csrf_token_is_refused(db) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/support/new", FORM)
    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_honeypot_filled_in_creates_nothing_but_looks_the_same(db) -> None:
    client, token = _csrf_client()
    response = client.post(
        "/support/new", {**FORM, "website": "http://spam.example", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert response["Location"] == "/support/thanks"
    assert not Ticket.objects.exists()


def test_invalid_input_shows_errors_and_keeps_nothing(db) -> None:
    client, token = _csrf_client()
    response = client.post(
        "/support/new", {**FORM, "email": "not-an-address", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not Ticket.objects.exists()


def test_header_injection_in_subject_is_flattened(db) -> None:
    client, token = _csrf_client()
    client.post(
        "/support/new",
        {**FORM, "subject": "Hi\r\nBcc: victim@example.com", "csrfmiddlewaretoken": token},
    )
    assert Ticket.objects.get().subject == "Hi Bcc: victim@example.com"
