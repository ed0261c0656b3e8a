"""Scenario 2 in Chromium: "Email me the size chart" from the demo shop's widget to email."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from livechat.models import ChatMessage, Conversation
from tests.helpers.browser import open_console, start_shop_chat
from tests.helpers.inbound import post_inbound_email
from tickets.models import AuthorType, Ticket


@pytest.mark.browser
@pytest.mark.live
def test_email_me_the_size_chart(cast, live_server, browser, smtp_server) -> None:
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    shop_context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        agent = open_console(agent_context, live_server, cast.alice.email, cast.password)
        shop = start_shop_chat(
            shop_context,
            live_server,
            name="Ben Best",
            email="ben@shop.example",
            question="Which size is EU 43 in US? I have to leave soon.",
        )

        conversation = Conversation.objects.get(visitor_email="ben@shop.example")
        agent.get_by_role("button", name="Join chat with Ben Best").click()
        pane = agent.locator(f".chat-pane[data-conversation='{conversation.pk}']")
        pane.get_by_text("Which size is EU 43 in US?").wait_for()
        pane.get_by_label("Reply").fill("EU 43 is US 10. Shall I email you the size chart?")
        pane.get_by_label("Reply").press("Enter")
        shop.get_by_text("Shall I email you the size chart?").wait_for()

        shop.get_by_label("Type your message").fill("Yes please, email me the size chart!")
        shop.get_by_label("Type your message").press("Enter")
        pane.get_by_text("email me the size chart!").wait_for()

        pane.get_by_text("Escalate to email").click()
        pane.get_by_label("First email to the customer").fill(
            "Here is our size chart: EU 42 = US 9, EU 43 = US 10, EU 44 = US 11."
        )
        pane.get_by_role("button", name="Send by email").click()
        pane.locator(".chat-escalate a").wait_for()
        shop.get_by_text("This conversation continues by email").wait_for()
    finally:
        agent_context.close()
        shop_context.close()

    conversation.refresh_from_db()
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert ticket.channel == "chat"
    transcript = ticket.messages.order_by("created_at", "pk").first().body_text
    assert "Ben Best: Which size is EU 43 in US?" in transcript
    assert "Alice Agent: EU 43 is US 10." in transcript

    [mail] = smtp_server.wait_for(1, timeout=20)
    assert mail["To"] == "ben@shop.example"
    assert "EU 43 = US 10" in mail.get_body(("plain",)).get_content()

    reply = EmailMessage()
    reply["From"] = "Ben Best <ben@shop.example>"
    reply["To"] = mail["Reply-To"] or mail["From"]
    reply["Subject"] = f"Re: {mail['Subject']}"
    reply["Message-ID"] = make_msgid(domain="shop.example")
    reply["In-Reply-To"] = mail["Message-ID"]
    reply["References"] = f"{mail['References'] or ''} {mail['Message-ID']}".strip()
    reply.set_content("Thanks, I'll take the 43!")
    assert post_inbound_email(live_server, reply.as_bytes())["ticket_id"] == ticket.pk
    assert ticket.messages.filter(
        author_type=AuthorType.CUSTOMER, body_text__contains="I'll take the 43"
    ).exists()
    assert ChatMessage.objects.filter(conversation=conversation, author_type="visitor").count() == 2
