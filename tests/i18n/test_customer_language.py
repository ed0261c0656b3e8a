"""A customer's language is remembered once known (the widget, the contact form, their email's
Content-Language) and every email the desk writes to them is written in it: the CSAT survey,
the grant confirmation, the chat's code, the chat that continues by email. The CSAT page speaks
the survey's language."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core.emails import render_email
from customers.models import Customer
from customers.services import customer_for_email, language_of, remember_language
from livechat import services as chat
from livechat.models import Conversation
from mailer.models import OutboundEmail
from tests.helpers.csat import token_in
from tests.helpers.grants import make_grant
from tests.helpers.inbound import build_email, post_raw
from tickets import services as tickets
from wow_credits.sweeps import execute_due_grants


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    settings.SECURE_SSL_REDIRECT = False


def _post(client: Client, url: str, payload: dict):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def _last_email(to: str) -> OutboundEmail:
    return OutboundEmail.objects.filter(to__contains=[to]).order_by("-id").first()


# --- remembering ---------------------------------------------------------------------------------


def test_a_verified_widget_visitor_is_remembered_in_the_widgets_language(db) -> None:
    email = "lucia@shop.example"
    response = _post(
        Client(),
        "/api/v1/widget/sessions",
        {
            "name": "Lucía",
            "email": email,
            "user_hash": chat.expected_user_hash(email),
            "lang": "es",
        },
    )
    assert response.status_code == 201
    conversation = Conversation.objects.get(pk=response.json()["conversation_id"])
    assert conversation.language == "es"
    assert conversation.customer.language == "es"


def test_an_unverified_visitor_keeps_the_language_on_the_chat_only(db) -> None:
    response = _post(
        Client(), "/api/v1/widget/sessions", {"email": "claim@shop.example", "lang": "de-AT"}
    )
    conversation = Conversation.objects.get(pk=response.json()["conversation_id"])
    assert (conversation.language, conversation.customer) == ("de", None)
    assert not Customer.objects.filter(emails__address="claim@shop.example").exists()


def test_the_offline_form_remembers_the_language(db) -> None:
    response = _post(
        Client(),
        "/api/v1/widget/offline",
        {"email": "jonas@shop.example", "message": "Wo ist mein Paket?", "lang": "de"},
    )
    assert response.status_code == 201
    assert customer_for_email("jonas@shop.example").language == "de"


def test_the_contact_form_remembers_the_browsers_language(db) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    form = {
        "name": "Marta",
        "email": "marta@shop.example",
        "subject": "Devolución",
        "message": "Quiero devolver unas botas.",
        "website": "",
    }
    response = client.post("/support/new", form)
    assert response.status_code == 302, response.content[:500]
    assert customer_for_email("marta@shop.example").language == "es"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Content-Language": "de-DE"}, "de"),
        ({"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}, "es"),
        ({"Content-Language": "fr"}, ""),  # one we do not speak: nothing remembered
        ({}, ""),
    ],
)
def test_an_inbound_email_header_tells_the_language(db, headers, expected) -> None:
    mail = build_email(sender="Kim <kim@shop.example>")
    for name, value in headers.items():  # after the body: set_content drops Content-* headers
        mail[name] = value
    assert post_raw(Client(), mail.as_bytes()).status_code == 202
    assert customer_for_email("kim@shop.example").language == expected


def test_an_unknown_code_changes_nothing_and_english_is_the_default(db) -> None:
    customer = customer_for_email("ana@shop.example", language="es")
    assert remember_language(customer, "xx-YY") is False
    assert remember_language(customer, "") is False
    customer.refresh_from_db()
    assert customer.language == "es" and language_of(customer) == "es"
    assert language_of(customer_for_email("new@shop.example")) == "en"
    assert language_of(None) == "en"


# --- emails in the customer's language ------------------------------------------------------------


SURVEY = {
    "es": ("¿Qué tal lo hicimos? Valora la ayuda de", "Hola, Pat Customer:", "Valóralo del 1"),
    "de": ("Wie waren wir? Bewerte die Hilfe von", "Hallo Pat Customer,", "Bitte bewerte es"),
    "en": ("How did we do? Rate your help from", "Hello Pat Customer,", "Please rate it"),
}


@pytest.mark.parametrize("language", ["es", "de", "en"])
def test_the_csat_survey_email_and_page_speak_the_customers_language(
    cast, language, django_capture_on_commit_callbacks
) -> None:
    customer = customer_for_email("pat@shop.example", name="Pat Customer", language=language)
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(
            customer=customer, subject="Botas", body_text="¿Talla 43?", channel="email"
        )
    )
    tickets.add_agent_reply(ticket, by=cast.alice, body_text="Sí.")
    with django_capture_on_commit_callbacks(execute=True):
        tickets.set_status(ticket, status="solved", by=cast.alice)
    mail = OutboundEmail.objects.get(subject__contains=SURVEY[language][0])
    _, hello, ask = SURVEY[language]
    assert hello in mail.body_text and ask in mail.body_text
    assert hello in mail.body_html and f'<html lang="{language}">' in mail.body_html

    # The page the link opens speaks it too, whatever the browser says.
    token = token_in(mail.body_text)
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/csat/{token}/").content.decode()
    heading = {"es": "¿Qué tal lo hicimos?", "de": "Wie waren wir?", "en": "How did we do?"}
    assert f'<html lang="{language}">' in page and f"<h1>{heading[language]}</h1>" in page
    thanks = Client().post(f"/csat/{token}/", {"rating": "4"}).content.decode()
    said = {"es": "¡Gracias! Registramos", "de": "Danke! Wir haben", "en": "Thank you! We"}
    assert said[language] in thanks


def test_the_csat_page_without_a_known_language_follows_the_browser(
    cast, django_capture_on_commit_callbacks
) -> None:
    customer = customer_for_email("pat@shop.example", name="Pat Customer")
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(customer=customer, subject="Boots", body_text="Hi")
    )
    with django_capture_on_commit_callbacks(execute=True):
        tickets.set_status(ticket, status="solved", by=cast.alice)
    token = token_in(_last_email("pat@shop.example").body_text)
    page = Client(HTTP_ACCEPT_LANGUAGE="de-DE").get(f"/csat/{token}/").content.decode()
    assert "<h1>Wie waren wir?</h1>" in page
    refused = Client(HTTP_ACCEPT_LANGUAGE="de").post(f"/csat/{token}/", {"rating": "9"})
    assert "Wähle eine Bewertung von 1 bis 5." in refused.content.decode()


@pytest.mark.parametrize(
    ("language", "hello", "outcome", "because"),
    [
        ("es", "Hola, ", "Te reembolsamos 20.00 USD del pedido", "lo hizo porque"),
        ("de", "Hallo ", "Wir haben dir 20.00 USD für Bestellung", "hat das getan, weil"),
    ],
)
def test_the_grant_confirmation_speaks_the_customers_language(
    cast, order, language, hello, outcome, because
) -> None:
    remember_language(order.customer, language)
    make_grant("refund", by=cast.alice, order=order, amount="20.00")
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1), tick=False):
        execute_due_grants()
    mail = _last_email(order.customer.primary_email)
    assert hello in mail.body_text and outcome in mail.body_text and because in mail.body_text
    assert ("arreglado" if language == "es" else "wiedergutgemacht") in mail.subject


@pytest.mark.parametrize(
    ("kind", "extra", "spanish"),
    [
        ("discount_code", {"amount": "15"}, "Tu código de descuento WOW-"),
        (
            "overnight_reship",
            {},
            "Te enviamos de nuevo Oxford shoes, size 10 por envío urgente con",
        ),
    ],
)
def test_the_local_backends_outcomes_are_translated(cast, order, kind, extra, spanish) -> None:
    remember_language(order.customer, "es")
    target = {"order": order} if kind == "overnight_reship" else {"customer": order.customer}
    grant = make_grant(kind, by=cast.alice, **target, **extra)
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1), tick=False):
        execute_due_grants()
    grant.refresh_from_db()
    assert grant.outcome.startswith(("Your discount code", "We are sending a new"))  # recorded
    assert spanish in _last_email(order.customer.primary_email).body_text


def test_a_shops_own_outcome_words_are_kept_as_written(cast, order) -> None:
    from wow_credits.models import Grant

    remember_language(order.customer, "es")
    grant = make_grant("refund", by=cast.alice, order=order, amount="20.00")
    Grant.objects.filter(pk=grant.pk).update(outcome="Refund 8812 issued by Shopify.")
    grant.refresh_from_db()
    from wow_credits.services import _queue_confirmation

    _queue_confirmation(grant)
    assert "Refund 8812 issued by Shopify." in _last_email(order.customer.primary_email).body_text


@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("es", "Tu código de chat de", "Tu código para confirmar"),
        ("de", "Dein Chat-Code von", "Dein Code, um diese E-Mail-Adresse"),
        ("fr", "chat code:", "Your code to confirm"),  # unknown: English
    ],
)
def test_the_chat_code_email_speaks_the_widgets_language(db, language, subject, body) -> None:
    response = _post(
        Client(), "/api/v1/widget/sessions", {"email": "eva@shop.example", "lang": language}
    )
    token = response.json()["visitor_token"]
    asked = Client().post("/api/v1/widget/verification", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert asked.status_code == 202
    mail = _last_email("eva@shop.example")
    assert subject in mail.subject and body in mail.body_text


def test_a_chat_continued_by_email_writes_in_the_chats_language(cast) -> None:
    conversation, _ = chat.start_session(name="Lucía", email="lucia@shop.example", language="es")
    chat.post_message(conversation.pk, author_type="visitor", body="¿Dónde está mi pedido?")
    ticket = chat.escalate_to_email(
        conversation.pk, by=cast.alice, follow_up_at=timezone.now() + timedelta(days=2)
    )
    reply = _last_email("lucia@shop.example")
    assert reply.body_text.startswith("Hola, Lucía:\n\ncomo prometimos en el chat")
    assert ticket.customer.language == "es"
    assert ticket.follow_ups.get().body == "Retomamos nuestro chat sobre «¿Dónde está mi pedido?»."
    line = conversation.messages.order_by("-seq").first().body
    assert line.startswith("Esta conversación continúa por correo a lucia@shop.example")


@pytest.mark.parametrize("name", ["csat-survey", "chat-code", "chat-waiting", "grant-confirmation"])
def test_render_email_falls_back_to_english_for_an_unknown_language(db, name) -> None:
    context = {
        "company": "Trailhead",
        "code": "123456",
        "minutes": 10,
        "visitor": "Ben",
        "chat_id": 1,
        "customer": "Ben",
        "kind": "refund",
        "about": "Boots",
        "rating_urls": [],
        "url": "https://x/",
        "days": 7,
    }
    english = render_email(name, context)
    assert render_email(name, context, language="xx") == english
    assert render_email(name, context, language="es") != english


@pytest.mark.parametrize(
    ("header", "hello", "opens", "subject"),
    [
        (
            "es-ES",
            "Hola, Pat Customer:",
            "Volvemos a abrir el lunes 7 diciembre a las 09:00",
            "Recibimos tu mensaje",
        ),
        (
            "de-DE",
            "Hallo Pat Customer,",
            "Wir öffnen am Montag 7 Dezember um 09:00",
            "Wir haben deine Nachricht erhalten",
        ),
    ],
)
def test_the_out_of_hours_acknowledgement_speaks_the_senders_language(
    cast, time_machine, django_capture_on_commit_callbacks, header, hello, opens, subject
) -> None:
    from datetime import UTC, datetime

    from hours import services as hours

    week = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    hours.set_hours(timezone="Europe/Madrid", week=week, holidays=[], by=cast.dave)
    time_machine.move_to(datetime(2026, 12, 4, 19, 0, tzinfo=UTC), tick=True)  # Fri 20:00
    mail = build_email(sender="Pat Customer <pat@shop.example>")
    mail["Content-Language"] = header
    with django_capture_on_commit_callbacks(execute=True):
        assert post_raw(Client(), mail.as_bytes()).status_code == 202
    ack = _last_email("pat@shop.example")
    assert ack.subject.startswith(subject)
    assert hello in ack.body_text and opens in ack.body_text
    assert hello in ack.body_html
