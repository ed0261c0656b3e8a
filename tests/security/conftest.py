"""A small world with one of everything, and a client per role, for the security suite."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from tests import factories


@dataclass
class World:
    users: dict[str, Any]
    tokens: dict[str, str]
    customer: Any
    other_customer: Any
    order: Any
    ticket: Any
    other_ticket: Any
    attachment: Any
    follow_up: Any
    conversation: Any
    visitor_token: str
    other_conversation: Any
    grant: Any
    story: Any
    captured: Any
    survey: Any
    survey_token: str
    snippet: Any
    article: Any = None  # a published help center article
    mailbox: Any = None

    def client(self, role: str, *, api: bool = False) -> Client:
        """A client acting as `role`: staff by session (pages) or bearer token (API)."""
        if role == "anonymous":
            return Client()
        if role == "visitor":
            # A visitor holds nothing but the widget token; it must open no door but their chat.
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.visitor_token}")
        if role == "customer":
            client = Client()
            client.get(f"/csat/{self.survey_token}/")  # followed the signed link in their email
            return client
        if api:
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.tokens[role]}")
        client = Client()
        client.force_login(self.users[role])
        return client


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    from accounts.services import issue_api_token
    from attachments.models import Attachment
    from csat import services as csat_services
    from csat.models import Survey
    from helpcenter.services import create_article
    from livechat import services as chat_services
    from mailer.models import CapturedEmail
    from snippets.services import create_snippet
    from tickets.services import schedule_follow_up
    from wow_credits import services as wow

    settings.MEDIA_ROOT = tmp_path / "media"
    # Seven users per test: a fast hasher keeps the matrix quick (login itself is not under test).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    password = "correct-horse-battery"
    users = {
        "agent": factories.AgentFactory(email="alice@example.com", password=password),
        "trainee": factories.AgentFactory(
            email="tina@example.com", password=password, is_trainee=True
        ),
        "manager": factories.AgentFactory(
            email="carol@example.com", role="manager", password=password
        ),
        "admin": factories.AgentFactory(email="dave@example.com", role="admin", password=password),
    }
    tokens = {role: issue_api_token(user) for role, user in users.items()}
    customer = factories.CustomerFactory()
    other_customer = factories.CustomerFactory()
    order = factories.OrderFactory(customer=customer, total=Decimal("80.00"))
    ticket = factories.TicketFactory(customer=customer)
    message = factories.MessageFactory(ticket=ticket)
    other_ticket = factories.TicketFactory(customer=other_customer)
    factories.MessageFactory(ticket=other_ticket)
    attachment = Attachment(
        ticket=ticket,
        message=message,
        filename="invoice.pdf",
        content_type="application/pdf",
        size=9,
        source="email",
    )
    attachment.file.save("x", ContentFile(b"%PDF-1.4\n"), save=True)
    follow_up = schedule_follow_up(
        ticket, by=users["agent"], send_at=timezone.now() + timedelta(days=1), body="Checking in"
    )
    conversation, visitor_token = chat_services.start_session(name="Ben", email="ben@shop.example")
    other_conversation, _ = chat_services.start_session(name="Eve", email="eve@shop.example")
    grant, _ = wow.grant(
        "refund",
        by=users["agent"],
        reason="Late parcel",
        idempotency_key=str(uuid.uuid4()),
        customer=customer,
        order=order,
        amount="10.00",
    )
    story = wow.nominate_story(by=users["agent"], title="Shoes", story="Overnight pair")
    captured = CapturedEmail.objects.create(
        from_email="support@example.com", to=["ben@shop.example"], subject="Hi", raw="Subject: Hi"
    )
    survey = Survey.objects.create(ticket=ticket, customer=customer, email="ben@shop.example")
    snippet = create_snippet(title="Returns", shortcut="returns", body="30 days", by=users["agent"])
    from mailboxes.services import ImapSettings, create_mailbox

    # Port 9 on loopback: nothing listens, so "Test connection" fails fast and cleanly.
    mailbox = create_mailbox(
        address="support@shop.example",
        imap_settings=ImapSettings(host="127.0.0.1", port=9, password="pw", security="none"),
    )
    return World(
        users=users,
        tokens=tokens,
        customer=customer,
        other_customer=other_customer,
        order=order,
        ticket=ticket,
        other_ticket=other_ticket,
        attachment=attachment,
        follow_up=follow_up,
        conversation=conversation,
        visitor_token=visitor_token,
        other_conversation=other_conversation,
        grant=grant,
        story=story,
        captured=captured,
        survey=survey,
        survey_token=csat_services.issue_token(survey),
        snippet=snippet,
        article=create_article(
            title="Returns",
            body="Free within 60 days.",
            category="Returns",
            status="published",
            by=users["agent"],
        ),
        mailbox=mailbox,
    )
