"""A customer's email, and posting it to the signed inbound webhook as an MTA does."""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from django.test import Client

from tickets.inbound import sign
from tickets.models import Message, Ticket

URL = "/api/v1/inbound/email"


def build_email(
    *,
    sender: str = "Pat Customer <pat@shop.example>",
    to: str = "support@support.example.com",
    subject: str = "Where are my shoes?",
    body: str = "My order has not arrived.",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="shop.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


def post_raw(client: Client, raw: bytes, *, secret: str | None = None):
    from django.conf import settings

    signature = sign(raw, secret if secret is not None else settings.SUPPORTDESK_INBOUND_SECRET)
    return client.post(
        URL, data=raw, content_type="message/rfc822", HTTP_X_SUPPORTDESK_SIGNATURE=signature
    )


def ticket_from_customer_email() -> tuple[Ticket, Message, str]:
    """A ticket opened by the customer's email, as the webhook would file it."""
    first = build_email(sender="Pat Customer <pat@shop.example>", subject="Size chart")
    response = post_raw(Client(), first.as_bytes())
    assert response.status_code == 202
    data = response.json()
    return (
        Ticket.objects.get(pk=data["ticket_id"]),
        Message.objects.get(pk=data["message_id"]),
        first["Message-ID"],
    )


def post_inbound_email(server: Any, raw: bytes) -> dict:
    """Deliver a raw email to the live server's inbound webhook, signed as an MTA would."""
    import hashlib
    import hmac
    import json
    import urllib.request

    secret = os.environ.get("SUPPORTDESK_INBOUND_SECRET", "test-inbound-secret").encode()
    signature = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{server.url}/api/v1/inbound/email",
        data=raw,
        headers={
            "X-Supportdesk-Signature": f"sha256={signature}",
            "Content-Type": "message/rfc822",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 202
        return json.loads(response.read())
