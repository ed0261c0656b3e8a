"""Grants made from inside a chat: the customer sees what was made right in the chat, and the
confirmation email continues the chat's email thread."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from livechat import services as chat
from livechat.models import ChatMessage, Conversation
from mailer.models import OutboundEmail
from tests.helpers.grants import make_grant
from wow_credits import services
from wow_credits.models import Grant, GrantStatus
from wow_credits.sweeps import execute_due_grants


def after_window():
    return time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1), tick=False)


def chat_with(order) -> Conversation:
    """A chat with the order's customer, signed in on the shop (a valid user_hash)."""
    email = order.customer.primary_email
    conversation, _ = chat.start_session(
        name="Sam Best",
        email=email,
        page_url="https://shop.example/",
        user_hash=chat.expected_user_hash(email),
    )
    chat.post_message(conversation.pk, author_type="visitor", body="My shoes went astray!")
    return conversation


def system_lines(conversation: Conversation) -> list[str]:
    return list(
        ChatMessage.objects.filter(conversation=conversation, author_type="system")
        .order_by("seq")
        .values_list("body", flat=True)
    )


def test_the_customer_sees_each_grant_made_executed_and_undone_in_the_chat(cast, order):
    conversation = chat_with(order)
    reship = make_grant("overnight_reship", by=cast.alice, order=order, chat_id=conversation.pk)
    refund = make_grant("refund", by=cast.alice, order=order, chat_id=conversation.pk)
    vip = make_grant("vip_upgrade", by=cast.alice, customer=order.customer, chat_id=conversation.pk)
    gift = make_grant("gift", by=cast.alice, order=order, chat_id=conversation.pk)
    services.undo_grant(gift, by=cast.alice)
    services.undo_grant(gift, by=cast.alice)  # a second undo says nothing new
    with after_window():
        assert execute_due_grants() == 3

    lines = system_lines(conversation)
    assert lines[:5] == [
        f"Alice Agent arranged a new shipment for order {order.external_id} by overnight"
        " shipping. We confirm here once it is done.",
        f"Alice Agent arranged a refund of 120.00 USD for order {order.external_id}."
        " We confirm here once it is done.",
        "Alice Agent arranged a VIP upgrade: free overnight shipping on future orders."
        " We confirm here once it is done.",
        f"Alice Agent arranged a gift for order {order.external_id}."
        " We confirm here once it is done.",
        f"A gift for order {order.external_id} was cancelled.",
    ]
    done = lines[5:]
    assert len(done) == 3 and all(line.startswith("Done: ") for line in done)
    reship.refresh_from_db()
    shipment = order.shipments.get(method="overnight")
    assert any(shipment.tracking in line and "overnight" in line for line in done)
    assert any("We refunded 120.00 USD" in line for line in done)
    assert any("You are now a VIP customer" in line for line in done)
    # Numbered like every chat message: gap-free seqs after the visitor's line.
    seqs = list(conversation.messages.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert {refund.pk, vip.pk} <= set(
        Grant.objects.filter(status="executed").values_list("pk", flat=True)
    )


def test_a_replayed_grant_or_a_rerun_posts_nothing_twice(cast, order):
    conversation = chat_with(order)
    grant = make_grant(
        "refund", by=cast.alice, order=order, chat_id=conversation.pk, idempotency_key="k1"
    )
    again, created = services.grant(
        "refund",
        by=cast.alice,
        order=order,
        chat_id=conversation.pk,
        idempotency_key="k1",
        reason="The shoes went to the wrong address before a wedding",
    )
    assert (again.pk, created) == (grant.pk, False)
    services._tell_chat(grant, "created")  # what a re-run after a crash would do
    assert len(system_lines(conversation)) == 1


def test_a_grant_naming_an_unknown_chat_still_stands(cast, order):
    grant = make_grant("vip_upgrade", by=cast.alice, customer=order.customer, chat_id=987654)
    assert grant.status == GrantStatus.PENDING


def test_the_confirmation_continues_the_escalated_chats_email_thread(cast, order):
    conversation = chat_with(order)
    ticket = chat.escalate_to_email(conversation.pk, by=cast.alice)
    first = OutboundEmail.objects.get(ticket=ticket)
    make_grant("vip_upgrade", by=cast.alice, customer=order.customer, chat_id=conversation.pk)
    with after_window():
        assert execute_due_grants() == 1
    mail = OutboundEmail.objects.get(extra_headers__has_key="X-Supportdesk-Grant")
    assert mail.ticket_id == ticket.pk
    assert mail.in_reply_to == first.message_id
    assert first.message_id in mail.references
    assert mail.reply_to.startswith(f"support+{ticket.reference}@")
    assert mail.subject == f"Re: {ticket.subject} [#{ticket.reference}]"
    assert mail.extra_headers["X-Supportdesk-Chat"] == str(conversation.pk)


def test_confirmations_of_a_chat_that_stayed_a_chat_share_one_thread(cast, order):
    conversation = chat_with(order)
    make_grant("overnight_reship", by=cast.alice, order=order, chat_id=conversation.pk)
    make_grant("vip_upgrade", by=cast.alice, customer=order.customer, chat_id=conversation.pk)
    with after_window():
        assert execute_due_grants() == 2
    mails = list(OutboundEmail.objects.filter(extra_headers__has_key="X-Supportdesk-Grant"))
    assert len(mails) == 2
    assert len({m.subject for m in mails}) == 1
    assert len({m.references for m in mails}) == 1
    assert mails[0].references.startswith(f"<chat-{conversation.pk}@")
    assert mails[0].in_reply_to == mails[0].references


def test_the_chat_dialog_is_bound_to_the_chat_and_offers_the_next_grant(client, cast, order):
    conversation = chat_with(order)
    older = type(order).objects.create(
        external_id="OLD-1",
        customer=order.customer,
        total=order.total,
        currency="USD",
        status="delivered",
        placed_at=timezone.now() - timedelta(days=90),
    )
    order.placed_at = timezone.now()
    order.save(update_fields=["placed_at"])
    client.force_login(cast.alice)
    response = client.get(f"/wow/grant?chat_id={conversation.pk}")
    assert response.status_code == 200, response
    html = response.content.decode()
    assert f'name="customer_id" value="{order.customer_id}"' in html
    assert f'name="chat_id" value="{conversation.pk}"' in html
    assert f'<option value="{order.pk}" selected>' in html
    assert f'<option value="{older.pk}" >' in html  # the customer's other orders are selectable
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    reason = "Best man's shoes went to the wrong address"
    posted = {
        "idempotency_key": key,
        "customer_id": order.customer_id,
        "chat_id": conversation.pk,
        "order_id": order.pk,
        "reason": reason,
    }
    made = client.post("/wow/grant", {**posted, "kind": "overnight_reship"}, HTTP_HX_REQUEST="true")
    assert made.status_code == 200
    body = made.content.decode()
    assert "Overnight reship" in body and "Undo" in body
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', body).group(1)
    assert fresh != key
    assert reason.replace("'", "&#x27;") in body  # the reason is kept for the next grant
    again = client.post("/wow/grant", {**posted, "kind": "refund", "idempotency_key": fresh})
    assert again.status_code == 200
    grants = Grant.objects.filter(chat_id=conversation.pk, customer=order.customer)
    assert sorted(grants.values_list("kind", flat=True)) == ["overnight_reship", "refund"]
