"""Reaching out first: the agent's reply on a care task is emailed to the customer, threaded, and
the customer's answer lands on the same task."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

import pytest
from django.test import Client
from django.utils import timezone

from care.services import sweep_care
from customers.models import ShipmentStatus
from tests import factories
from tests.helpers.inbound import post_raw
from tickets import services
from tickets.models import Ticket, TicketType


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


@pytest.fixture(autouse=True)
def eager_celery():
    """Deliver after commit in this process, as the embedded profile does."""
    from supportdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_the_agents_outreach_is_emailed_threaded_and_the_answer_lands_on_the_task(
    db, cast, smtp_sink, django_capture_on_commit_callbacks
):
    factories.ShipmentFactory(
        order__external_id="SHOP-4242",
        order__customer__email="sam@shop.example",
        status=ShipmentStatus.IN_TRANSIT,
        promised_by=timezone.now() - timedelta(hours=4),
    )
    sweep_care()
    ticket = Ticket.objects.get(type=TicketType.CARE)

    with django_capture_on_commit_callbacks(execute=True):
        reply = services.add_agent_reply(
            ticket,
            by=cast.alice,
            body_text="Your shoes are late; I've rerouted a new pair overnight, on us.",
        )

    [sent] = smtp_sink.wait_for(1)
    assert getaddresses([sent["To"]])[0][1] == "sam@shop.example"
    assert sent["Message-ID"] == reply.message_id
    assert sent["Reply-To"] == services.reply_address(ticket)
    assert "Your order SHOP-4242 is running late" in sent["Subject"]
    assert f"[#{ticket.reference}]" in sent["Subject"]
    assert "rerouted a new pair overnight" in sent.get_body(("plain",)).get_content()

    answer = EmailMessage()
    answer["From"] = "Sam Best <sam@shop.example>"
    answer["To"] = sent["Reply-To"]
    answer["Subject"] = f"Re: {sent['Subject']}"
    answer["Message-ID"] = make_msgid(domain="shop.example")
    answer["In-Reply-To"] = sent["Message-ID"]
    answer["References"] = sent["Message-ID"]
    answer.set_content("Wow, thank you! I hadn't even noticed.")
    response = post_raw(Client(), answer.as_bytes())

    assert response.status_code == 202
    assert response.json()["ticket_id"] == ticket.pk
    assert ticket.messages.filter(body_text__contains="hadn't even noticed").exists()
