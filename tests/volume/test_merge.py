"""Merging duplicates: tickets (everything moves, the merged one points on) and contacts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from csat.models import Survey
from customers.models import Customer
from tests import factories
from tickets.models import FollowUp, Message, Status, Ticket
from wow_credits import services as wow
from wow_credits.models import Grant

pytestmark = pytest.mark.django_db


def _merge(client, source, into):
    return client.post(
        f"/api/v1/tickets/{source.pk}/merge", {"into": into.pk}, content_type="application/json"
    )


def test_merge_moves_messages_in_time_order_and_leaves_a_pointer(api_client, cast):
    customer = factories.CustomerFactory()
    now = timezone.now()
    survivor = factories.TicketFactory(customer=customer, status="open")
    duplicate = factories.TicketFactory(customer=customer, status="new")
    factories.MessageFactory(
        ticket=survivor, body_text="first", created_at=now - timedelta(hours=3)
    )
    factories.MessageFactory(
        ticket=duplicate, body_text="second", created_at=now - timedelta(hours=2)
    )
    factories.MessageFactory(
        ticket=survivor, body_text="third", created_at=now - timedelta(hours=1)
    )
    duplicate.tags.create(name="shoes")
    follow_up = FollowUp.objects.create(
        ticket=duplicate, body="Checking in", send_at=now + timedelta(days=1), created_by=cast.alice
    )

    response = _merge(api_client, duplicate, survivor)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == survivor.pk
    customer_bodies = [m["body"] for m in body["messages"] if m["author_type"] == "customer"]
    assert customer_bodies == ["first", "second", "third"]
    assert "shoes" in body["tags"]
    assert FollowUp.objects.get(pk=follow_up.pk).ticket_id == survivor.pk
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk and duplicate.status == Status.CLOSED
    pointer = api_client.get(f"/api/v1/tickets/{duplicate.pk}").json()
    assert pointer["merged_into_id"] == survivor.pk
    assert [m["author_type"] for m in pointer["messages"]] == ["system"]


def test_merge_moves_grants_and_the_csat_survey(api_client, cast):
    customer = factories.CustomerFactory()
    order = factories.OrderFactory(customer=customer)
    survivor = factories.TicketFactory(customer=customer, status="open")
    duplicate = factories.TicketFactory(customer=customer, status="solved")
    grant, _ = wow.grant(
        "refund",
        by=cast.alice,
        customer=customer,
        order=order,
        amount=Decimal("10.00"),
        reason="Late delivery",
        idempotency_key="merge-grant-1",
        ticket_id=duplicate.pk,
    )
    Survey.objects.create(ticket=duplicate, customer=customer, email="x@shop.example")

    assert _merge(api_client, duplicate, survivor).status_code == 200

    assert Grant.objects.get(pk=grant.pk).ticket_id == survivor.pk
    assert Survey.objects.get(customer=customer).ticket_id == survivor.pk


@pytest.mark.parametrize("case", ["itself", "into_merged", "cycle", "already_merged"])
def test_impossible_merges_are_refused_with_422(api_client, case):
    customer = factories.CustomerFactory()
    a, b, c = factories.TicketFactory.create_batch(3, customer=customer, status="open")
    assert _merge(api_client, b, c).status_code == 200  # b -> c

    source, into, code = {
        "itself": (a, a, "merge_into_self"),
        "into_merged": (a, b, "target_merged"),
        "cycle": (c, b, "merge_cycle"),
        "already_merged": (b, a, "already_merged"),
    }[case]
    response = _merge(api_client, source, into)

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert Ticket.objects.get(pk=a.pk).merged_into_id is None


def test_mail_to_a_merged_tickets_thread_lands_in_the_survivor(api_client, mail):
    first = mail(subject="Shoes missing", body="Where are they?")
    second = mail(subject="Shoes still missing", body="Hello?")
    duplicate_mid = Message.objects.get(pk=second.message_id).message_id
    survivor = Ticket.objects.get(pk=first.ticket_id)
    duplicate = Ticket.objects.get(pk=second.ticket_id)
    assert _merge(api_client, duplicate, survivor).status_code == 200

    by_header = mail(subject="Re: Shoes still missing", body="Any news?", in_reply_to=duplicate_mid)
    by_token = mail(
        subject="Shoes",
        body="Via the reply address",
        to=f"support+{duplicate.reference}@support.example.com",
    )

    assert by_header.ticket_id == survivor.pk and not by_header.created
    assert by_token.ticket_id == survivor.pk and not by_token.created


def test_merging_contacts_moves_emails_tickets_orders_chats_and_grants(api_client, cast):
    from livechat.models import Conversation

    source = factories.CustomerFactory(email="old@shop.example", tier="vip")
    into = factories.CustomerFactory(email="new@shop.example")
    ticket = factories.TicketFactory(customer=source)
    order = factories.OrderFactory(customer=source)
    chat = Conversation.objects.create(customer=source, visitor_name="Pat")
    wow.grant(
        "refund",
        by=cast.alice,
        customer=source,
        order=order,
        amount=Decimal("5.00"),
        reason="Sorry",
        idempotency_key="merge-customer-grant",
    )

    response = api_client.post(
        f"/api/v1/customers/{source.pk}/merge", {"into": into.pk}, content_type="application/json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == into.pk and body["tier"] == "vip"
    assert sorted(body["emails"]) == ["new@shop.example", "old@shop.example"]
    assert [t["id"] for t in body["tickets"]] == [ticket.pk]
    assert [o["external_id"] for o in body["orders"]] == [order.external_id]
    assert Conversation.objects.get(pk=chat.pk).customer_id == into.pk
    # The guardrails beside the grant button count the merged history.
    assert wow.guardrails(customer=into) == ["This customer received 1 grant in 30 days"]
    assert Customer.objects.get(pk=source.pk).merged_into_id == into.pk


@pytest.mark.parametrize("case", ["itself", "into_merged", "cycle"])
def test_impossible_contact_merges_are_refused_with_422(api_client, case):
    a, b, c = factories.CustomerFactory.create_batch(3)
    merge = lambda s, i: api_client.post(  # noqa: E731
        f"/api/v1/customers/{s.pk}/merge", {"into": i.pk}, content_type="application/json"
    )
    assert merge(b, c).status_code == 200
    source, into, code = {
        "itself": (a, a, "merge_into_self"),
        "into_merged": (a, b, "target_merged"),
        "cycle": (c, b, "merge_cycle"),
    }[case]

    response = merge(source, into)

    assert (response.status_code, response.json()["code"]) == (422, code)


def test_merges_spam_and_bulk_requests_are_audited(api_client, cast):
    from audit.models import AuditEntry

    a, b = factories.TicketFactory.create_batch(2, status="open")
    _merge(api_client, a, b)
    api_client.post(f"/api/v1/tickets/{b.pk}/spam")
    api_client.post(
        "/api/v1/tickets/bulk",
        {"ids": [b.pk], "action": "not_spam"},
        content_type="application/json",
    )

    actions = list(AuditEntry.objects.order_by("id").values_list("action", "object_id"))
    assert ("ticket.merged", str(a.pk)) in actions
    assert ("ticket.spam", str(b.pk)) in actions and ("ticket.not_spam", str(b.pk)) in actions
    bulk = AuditEntry.objects.get(action="ticket.bulk")
    assert bulk.detail["action"] == "not_spam" and bulk.detail["updated"] == 1
    assert bulk.actor_id == cast.alice.pk
