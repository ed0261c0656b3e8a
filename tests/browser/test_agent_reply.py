"""End to end in Chromium: an agent answers a ticket, the customer's email reply lands on it."""

from __future__ import annotations

import json
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from accounts.services import issue_api_token
from tests import factories
from tests.helpers.browser import login
from tests.helpers.inbound import post_inbound_email
from tickets import services
from tickets.models import AuthorType, Ticket


@pytest.mark.browser
@pytest.mark.live
def test_agent_replies_in_the_browser_and_the_customer_reply_threads_back(
    cast, live_server, page, smtp_server
) -> None:
    customer = factories.CustomerFactory(name="Ben Best", email="ben@shop.example")
    ticket, _ = services.create_ticket(
        services.NewTicket(
            customer=customer,
            subject="Wedding shoes went to the wrong address",
            body_text="The wedding is tomorrow, please help.",
            channel="email",
            message_id="<wedding-1@shop.example>",
        )
    )

    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/inbox/")
    page.click(f"#ticket-table a[href='/tickets/{ticket.pk}/']")
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    page.fill("#reply textarea[name=body]", "A new pair ships overnight to the right address.")
    page.click("#reply button[type=submit]")
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    assert page.locator(".flash").inner_text().strip() == "Reply sent."

    [mail] = smtp_server.wait_for(1, timeout=20)
    assert mail["To"] == "ben@shop.example"
    assert mail["In-Reply-To"] == "<wedding-1@shop.example>"
    assert "<wedding-1@shop.example>" in mail["References"]
    assert mail["Message-ID"]
    assert "Alice Agent" in mail["From"]
    assert "A new pair ships overnight" in mail.get_body(("plain",)).get_content()

    reply = EmailMessage()
    reply["From"] = "Ben Best <ben@shop.example>"
    reply["To"] = mail["Reply-To"] or mail["From"]
    reply["Subject"] = f"Re: {mail['Subject']}"
    reply["Message-ID"] = make_msgid(domain="shop.example")
    reply["In-Reply-To"] = mail["Message-ID"]
    reply["References"] = f"{mail['References']} {mail['Message-ID']}"
    reply.set_content("Thank you so much, they fit!")
    result = post_inbound_email(live_server, reply.as_bytes())

    assert result["ticket_id"] == ticket.pk
    bodies = list(
        Ticket.objects.get(pk=ticket.pk)
        .messages.filter(author_type=AuthorType.CUSTOMER)
        .values_list("body_text", flat=True)
    )
    assert len(bodies) == 2
    assert "Thank you so much, they fit!" in bodies[1]
    page.reload()
    assert page.locator(".thread").get_by_text("Thank you so much, they fit!").is_visible()


@pytest.mark.browser
@pytest.mark.live
def test_new_ticket_appears_in_the_open_inbox_and_keys_open_it(cast, live_server, page) -> None:
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/inbox/?view=all")
    page.wait_for_function("document.querySelector('[data-inbox-ws]') !== null")
    page.wait_for_timeout(500)  # let the inbox socket connect before the event is published
    # Created through the live server's API: Playwright's event loop on this thread rules out
    # publishing from the test process itself.
    token = issue_api_token(cast.bob)
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/tickets",
        data=json.dumps(
            {
                "subject": "Arrived without a reload",
                "body": "Hi",
                "customer": {"email": "larry@shop.example", "name": "Late Larry"},
            }
        ).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        ticket = Ticket.objects.get(pk=json.loads(response.read())["id"])
    row = page.locator(f"#ticket-table tr[data-ticket-id='{ticket.pk}']")
    row.wait_for(state="visible", timeout=10_000)

    page.keyboard.press("?")
    assert page.locator("#shortcut-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcut-help").is_visible()
    page.keyboard.press("j")
    assert "selected" in (row.get_attribute("class") or "")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "body"
