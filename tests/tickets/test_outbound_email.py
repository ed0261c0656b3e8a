"""Outbound email: replies leave with threading headers and come back to the same ticket."""

from __future__ import annotations

import socket
from datetime import timedelta
from email.utils import getaddresses, make_msgid

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from mailer.delivery import deliver_due
from mailer.models import OutboundEmail, OutboundStatus
from tests import factories
from tests.helpers.inbound import build_email, post_raw, ticket_from_customer_email
from tickets import services
from tickets.models import Status


def _closed_port() -> int:
    """A port nothing listens on: bound, read, released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


@pytest.fixture(autouse=True)
def eager_celery():
    """Run the after-commit delivery task in this process, as the embedded profile does.

    conftest sets SUPPORTDESK_CELERY_EAGER after pytest-django has already loaded the settings,
    so the flag is set on the Celery app itself here.
    """
    from supportdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_an_agent_reply_is_emailed_with_threading_headers_and_comes_back(
    db, cast, smtp_sink, django_capture_on_commit_callbacks
):
    ticket, _, customer_message_id = ticket_from_customer_email()

    with django_capture_on_commit_callbacks(execute=True):
        reply = services.add_agent_reply(ticket, by=cast.alice, body_text="Here is the chart.")

    [sent] = smtp_sink.wait_for(1)
    assert sent["Message-ID"] == reply.message_id
    assert sent["In-Reply-To"] == customer_message_id
    assert customer_message_id in sent["References"]
    assert sent["Reply-To"] == services.reply_address(ticket)
    assert sent["Reply-To"].startswith(f"support+{ticket.reference}@")
    assert "Alice Agent" in sent["From"]
    assert getaddresses([sent["To"]])[0][1] == "pat@shop.example"
    assert f"[#{ticket.reference}]" in sent["Subject"]
    assert "Here is the chart." in sent.get_body(("plain",)).get_content()
    assert OutboundEmail.objects.get().status == OutboundStatus.SENT

    # The customer answers from their mail client: In-Reply-To is our Message-ID.
    answer = build_email(
        sender="Pat Customer <pat@shop.example>",
        to=sent["Reply-To"],
        subject=f"Re: {sent['Subject']}",
        body="Thanks, that fits.",
        in_reply_to=sent["Message-ID"],
        references=f"{sent['References']} {sent['Message-ID']}",
    )
    response = post_raw(Client(), answer.as_bytes())

    assert response.status_code == 202
    assert response.json()["created"] is False
    assert response.json()["ticket_id"] == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.messages.filter(body_text="Thanks, that fits.").exists()


def test_a_reply_posted_to_the_api_is_emailed(
    db, cast, api_client, smtp_sink, django_capture_on_commit_callbacks
):
    ticket, _, customer_message_id = ticket_from_customer_email()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/api/v1/tickets/{ticket.pk}/replies",
            {"body": "On its way", "internal": False},
            content_type="application/json",
        )

    assert response.status_code == 201
    [sent] = smtp_sink.wait_for(1)
    assert sent["In-Reply-To"] == customer_message_id
    assert sent["Message-ID"] == response.json()["message_id"]


def test_internal_notes_never_email(db, cast, smtp_sink, django_capture_on_commit_callbacks):
    ticket, _, _ = ticket_from_customer_email()

    with django_capture_on_commit_callbacks(execute=True):
        services.add_agent_reply(ticket, by=cast.alice, body_text="VIP, be generous", internal=True)

    assert not OutboundEmail.objects.exists()
    assert smtp_sink.messages == []


def test_a_failed_send_stays_queued_and_is_sent_once_later(
    db, cast, smtp_sink, settings, django_capture_on_commit_callbacks
):
    ticket, _, _ = ticket_from_customer_email()
    settings.EMAIL_PORT = _closed_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2

    with django_capture_on_commit_callbacks(execute=True):
        reply = services.add_agent_reply(ticket, by=cast.alice, body_text="Try this")

    email = OutboundEmail.objects.get()
    assert email.status == OutboundStatus.QUEUED
    assert email.attempts == 1
    assert email.last_error
    assert email.next_attempt_at > timezone.now()
    assert deliver_due() == 0  # backing off: not due yet

    settings.EMAIL_PORT = smtp_sink.port
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        assert deliver_due() == 1
        assert deliver_due() == 0

    [sent] = smtp_sink.wait_for(1)
    assert sent["Message-ID"] == reply.message_id
    email.refresh_from_db()
    assert email.status == OutboundStatus.SENT
    assert email.attempts == 2
    assert len(smtp_sink.messages) == 1


def test_a_ticket_without_a_customer_address_keeps_the_reply_on_the_ticket(
    db, cast, django_capture_on_commit_callbacks
):
    customer = factories.CustomerFactory()
    customer.emails.all().delete()
    ticket = factories.TicketFactory(customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        message = services.add_agent_reply(ticket, by=cast.alice, body_text="Noted")

    assert message.pk is not None
    assert not OutboundEmail.objects.exists()


def test_a_reply_to_a_customer_email_threads_by_its_message_id(db, cast):
    ticket, _, customer_message_id = ticket_from_customer_email()
    own = make_msgid(domain="shop.example")

    in_reply_to, references = services.thread_headers(ticket)

    assert in_reply_to == customer_message_id
    assert references == customer_message_id
    assert own not in references
