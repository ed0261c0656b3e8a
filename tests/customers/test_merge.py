"""Merging two customers: everything of the one merged moves to the one kept, each app moving its
own rows (the `customer_merged` hook), in one transaction."""

from __future__ import annotations

from customers.models import Customer, CustomerEmail
from customers.services import customer_for_email, merge_customers
from livechat.models import Conversation
from tests import factories
from tests.helpers.grants import make_grant
from tickets.models import Ticket
from wow_credits.models import Grant


def test_merging_moves_emails_orders_tickets_chats_and_grants_to_the_customer_kept(db, cast):
    kept = customer_for_email("pat@shop.example", name="Pat Customer")
    merged = customer_for_email("pat.old@shop.example", name="")
    merged.tier = "vip"
    merged.save(update_fields=["tier"])
    order = factories.OrderFactory(customer=merged)
    ticket = factories.TicketFactory(customer=merged)
    chat = Conversation.objects.create(customer=merged, visitor_name="Pat")
    grant = make_grant("gift", by=cast.alice, order=order)

    merge_customers(merged, into=kept)

    assert CustomerEmail.objects.filter(customer=kept).count() == 2
    order.refresh_from_db()
    assert order.customer == kept
    assert Ticket.objects.get(pk=ticket.pk).customer == kept
    assert Conversation.objects.get(pk=chat.pk).customer == kept
    assert Grant.objects.get(pk=grant.pk).customer == kept
    kept.refresh_from_db()
    assert kept.tier == "vip"
    assert Customer.objects.get(pk=merged.pk).merged_into == kept
