"""Delivered twice, at the same moment: one effect each. The same inbound email, the same chat
message (one client_id on two sockets), the same grant (one Idempotency-Key)."""

from __future__ import annotations

import asyncio
import json
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from accounts.services import issue_api_token
from livechat.models import ChatMessage
from tests.helpers.chat import run, visitor_socket, widget_session
from tests.helpers.inbound import post_inbound_email
from tests.helpers.reliability import in_parallel, request
from tickets.models import InboundEmail, Message, Ticket
from wow_credits.models import Grant

pytestmark = pytest.mark.live


def test_the_same_inbound_email_delivered_twice_at_once_is_filed_once(live_server):
    mail = EmailMessage()
    mail["From"] = "Pat <pat@shop.example>"
    mail["To"] = "support@support.example.com"
    mail["Subject"] = "Where are my shoes?"
    mail["Message-ID"] = make_msgid(domain="shop.example")
    mail.set_content("They did not arrive.")
    raw = mail.as_bytes()

    results = in_parallel([lambda: post_inbound_email(live_server, raw)] * 4)

    assert all(isinstance(r, dict) for r in results), results
    assert len({(r["ticket_id"], r["message_id"]) for r in results}) == 1
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_the_same_chat_message_sent_on_two_sockets_at_once_is_stored_once(live_server):
    session = widget_session(live_server)

    async def scenario() -> list[dict]:
        tabs = [await visitor_socket(live_server, session["visitor_token"]) for _ in range(3)]
        frame = {"type": "message", "client_id": "same-line", "body": "Hello?"}
        await asyncio.gather(*(tab.send(frame) for tab in tabs))
        acks = [
            await tab.next(lambda f: f["type"] == "ack" and f["client_id"] == "same-line")
            for tab in tabs
        ]
        for tab in tabs:
            await tab.close()
        return acks

    acks = run(scenario())
    assert len({ack["seq"] for ack in acks}) == 1
    assert ChatMessage.objects.filter(client_id="same-line").count() == 1


def test_the_same_grant_submitted_twice_at_once_is_one_grant(cast, order, live_server):
    token = issue_api_token(cast.alice)
    body = {
        "kind": "refund",
        "customer_email": order.customer.primary_email,
        "order_external_id": order.external_id,
        "amount": "40",
        "reason": "Late for the wedding",
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "double-click"}
    url = f"{live_server.url}/api/v1/wow/grants"

    results = in_parallel([lambda: request("POST", url, body=body, headers=headers)] * 4)

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 200, 200, 201], results
    assert len({json.loads(text)["id"] for _, _, text in results}) == 1
    assert Grant.objects.count() == 1
