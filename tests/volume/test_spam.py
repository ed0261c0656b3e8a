"""Spam: marked spam leaves the inbox, blocked senders go straight to spam, "not spam" restores."""

from __future__ import annotations

import pytest

from mailer.models import OutboundEmail
from tests import factories
from tickets import selectors
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def _ids(user, view):
    return [
        row.id
        for row in selectors.ticket_page(user=user, filters=selectors.InboxFilters(view=view)).items
    ]


def test_a_ticket_marked_spam_leaves_every_view_but_spam_and_not_spam_restores_it(api_client, cast):
    ticket = factories.TicketFactory(status="pending", assignee=cast.alice)

    marked = api_client.post(f"/api/v1/tickets/{ticket.pk}/spam")

    assert marked.status_code == 200 and marked.json()["status"] == "spam"
    for view in ("mine", "open", "pending", "all"):
        assert ticket.pk not in _ids(cast.alice, view)
    assert _ids(cast.alice, "spam") == [ticket.pk]
    assert ticket.pk not in [t["id"] for t in api_client.get("/api/v1/tickets").json()["items"]]

    restored = api_client.post(f"/api/v1/tickets/{ticket.pk}/not-spam")

    assert restored.json()["status"] == "pending"
    assert ticket.pk in _ids(cast.alice, "mine")


def test_bulk_spam_marks_each_ticket(api_client):
    tickets = factories.TicketFactory.create_batch(3, status="new")

    response = api_client.post(
        "/api/v1/tickets/bulk",
        {"ids": [t.pk for t in tickets], "action": "spam"},
        content_type="application/json",
    )

    assert response.json()["updated"] == [t.pk for t in tickets]
    assert Ticket.objects.filter(status=Status.SPAM).count() == 3


def test_only_admins_block_senders(token_client, cast):
    agent = token_client(cast.alice).post(
        "/api/v1/blocked-senders", {"pattern": "spammy.example"}, content_type="application/json"
    )
    admin = token_client(cast.dave).post(
        "/api/v1/blocked-senders", {"pattern": "@Spammy.example"}, content_type="application/json"
    )
    bad = token_client(cast.dave).post(
        "/api/v1/blocked-senders", {"pattern": "not a pattern"}, content_type="application/json"
    )

    assert agent.status_code == 403
    assert admin.status_code == 201 and admin.json()["pattern"] == "spammy.example"
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_pattern")


@pytest.mark.django_db(transaction=True)
def test_mail_from_a_blocked_domain_goes_to_spam_and_nothing_answers_it(cast, mail):
    from tickets import spam

    spam.block_sender("spammy.example", by=cast.dave)
    existing = mail(sender="Pat <pat@shop.example>", subject="Real question")

    blocked = mail(sender="Bot <bot@mail.spammy.example>", subject="Buy now")
    # A blocked address never reopens a real ticket by threading onto it.
    spam.block_sender("pat@shop.example", by=cast.dave)
    thread = Ticket.objects.get(pk=existing.ticket_id).messages.first().message_id
    reply = mail(sender="Pat <pat@shop.example>", subject="Re: Real question", in_reply_to=thread)

    assert Ticket.objects.get(pk=blocked.ticket_id).status == Status.SPAM
    assert reply.created and Ticket.objects.get(pk=reply.ticket_id).status == Status.SPAM
    assert Ticket.objects.get(pk=existing.ticket_id).status == Status.NEW
    # Solving a spam ticket is impossible without "not spam" first, so no survey either.
    assert not OutboundEmail.objects.filter(
        ticket_id__in=[blocked.ticket_id, reply.ticket_id]
    ).exists()


def test_blocked_sender_mail_restored_with_not_spam_becomes_new(cast, mail):
    from tickets import spam

    spam.block_sender("bot@spammy.example", by=cast.dave)
    result = mail(sender="bot@spammy.example", subject="Actually a customer")
    ticket = Ticket.objects.get(pk=result.ticket_id)

    spam.mark_not_spam(ticket, by=cast.alice)

    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
