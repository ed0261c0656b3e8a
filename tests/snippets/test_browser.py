"""In Chromium on a live daphne: a snippet inserts into a ticket reply and a chat box with a
keystroke, is counted, and is sent only when the agent presses Send."""

from __future__ import annotations

import time

import pytest

from livechat.models import ChatMessage, Conversation
from mailer.models import OutboundEmail
from snippets.models import Snippet
from tests import factories
from tests.helpers.browser import login, open_console, start_shop_chat
from tickets import services as tickets
from tickets.models import AuthorType

OPTION = "#snippet-options [role=option][data-shortcut='{}'][aria-selected=true]"


def _wait_for_count(snippet: Snippet, expected: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snippet.refresh_from_db()
        if snippet.usage_count == expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"/{snippet.shortcut} used {snippet.usage_count} times, not {expected}")


@pytest.mark.browser
@pytest.mark.live
def test_snippets_insert_into_a_ticket_reply_which_the_agent_then_sends(
    cast, library, live_server, page, smtp_server
) -> None:
    customer = factories.CustomerFactory(name="Ben Best", email="ben@shop.example")
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(
            customer=customer,
            subject="Which size is EU 43?",
            body_text="Do you have a size chart? And how long does shipping take?",
            channel="email",
            message_id="<sizes-1@shop.example>",
        )
    )
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    reply = page.locator("#reply textarea[name=body]")

    # "/" at the start of a word opens the picker; the letters after it search.
    reply.click()
    reply.press_sequentially("Hi Ben, /size")
    picker = page.get_by_role("listbox", name="Snippets")
    picker.wait_for()
    page.locator(OPTION.format("size-chart")).wait_for()
    reply.press("Enter")
    assert not picker.is_visible()
    assert reply.input_value() == "Hi Ben, US 9 = EU 42 = 27 cm\nUS 10 = EU 43 = 28 cm"

    # Escape closes the picker and leaves the "/word" typed; the agent stays in the box.
    reply.press_sequentially(" /ret")
    page.locator(OPTION.format("return-rules")).wait_for()
    reply.press("Escape")
    assert not picker.is_visible()
    assert page.evaluate("document.activeElement.name") == "body"
    assert reply.input_value().endswith("28 cm /ret")
    for _ in " /ret":
        reply.press("Backspace")
    assert not picker.is_visible()

    # Ctrl+. opens the picker with its own search field; Enter inserts at the cursor.
    reply.press("Enter")  # a plain newline: the picker is closed
    reply.press("Control+Period")
    search = page.get_by_role("combobox", name="Search snippets")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "combobox"
    search.press_sequentially("ship")
    page.locator(OPTION.format("shipping-times")).wait_for()
    search.press("ArrowDown")  # one result: the selection wraps back to it
    search.press("Enter")
    assert page.evaluate("document.activeElement.name") == "body"
    expected = (
        "Hi Ben, US 9 = EU 42 = 27 cm\nUS 10 = EU 43 = 28 cm\n"
        "Standard shipping takes 3-5 business days; express 1-2."
    )
    assert reply.input_value() == expected

    _wait_for_count(library["size-chart"], 1)
    _wait_for_count(library["shipping-times"], 1)
    assert Snippet.objects.get(shortcut="return-rules").usage_count == 0
    # Inserting sent nothing: no reply, no email.
    assert not ticket.messages.filter(author_type=AuthorType.AGENT).exists()
    assert not OutboundEmail.objects.exists()

    page.click("#reply button[type=submit]")
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    assert page.locator(".flash").inner_text().strip() == "Reply sent."
    [mail] = smtp_server.wait_for(1, timeout=20)
    assert mail["To"] == "ben@shop.example"
    text = mail.get_body(("plain",)).get_content()
    assert "US 10 = EU 43 = 28 cm" in text
    assert "Standard shipping takes 3-5 business days" in text


@pytest.mark.browser
@pytest.mark.live
def test_a_snippet_inserts_into_a_chat_box_and_goes_out_only_on_enter(
    cast, library, live_server, browser
) -> None:
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    shop_context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        agent = open_console(agent_context, live_server, cast.alice.email, cast.password)
        shop = start_shop_chat(
            shop_context,
            live_server,
            name="Ben Best",
            email="ben@shop.example",
            question="Can I return worn shoes?",
        )

        conversation = Conversation.objects.get(visitor_email="ben@shop.example")
        agent.get_by_role("button", name="Join chat with Ben Best").click()
        pane = agent.locator(f".chat-pane[data-conversation='{conversation.pk}']")
        pane.get_by_text("Can I return worn shoes?").wait_for()
        box = pane.get_by_label("Reply")

        box.press_sequentially("Yes! /ret")
        agent.locator(OPTION.format("return-rules")).wait_for()
        # The chat box sends on Enter; with the picker open, Enter inserts instead.
        box.press("Enter")
        assert box.input_value() == "Yes! Free returns within 60 days, worn or not."
        _wait_for_count(library["return-rules"], 1)
        agent.wait_for_timeout(500)
        assert not ChatMessage.objects.filter(
            conversation=conversation, author_type="agent"
        ).exists()
        assert shop.get_by_text("Free returns within 60 days").count() == 0

        box.press("Enter")  # the agent sends
        shop.get_by_text("Yes! Free returns within 60 days, worn or not.").wait_for()
        assert box.input_value() == ""
        [sent] = ChatMessage.objects.filter(conversation=conversation, author_type="agent")
        assert sent.body == "Yes! Free returns within 60 days, worn or not."
        assert library["return-rules"].uses.get().used_by == cast.alice
    finally:
        agent_context.close()
        shop_context.close()
