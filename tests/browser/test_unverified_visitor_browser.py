"""Finding 1 in Chromium: an impostor opens the widget as sam.best@example.com without a user_hash.
The agent's console shows the claim ("unverified: says they are ...") and none of Sam's orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livechat.models import Conversation
from tests import factories
from tests.helpers.browser import open_console, start_shop_chat

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_console_shows_an_unverified_claim_and_hides_the_customer(cast, live_server, browser):
    sam = factories.CustomerFactory(name="Sam Best", email="sam.best@example.com")
    order = factories.OrderFactory(customer=sam, external_id="WED-1", total=Decimal("180.00"))
    factories.ShipmentFactory(order=order, address="21 Chapel Rd", tracking="1ZSAM0001")
    agent_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    shop_context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        agent = open_console(agent_context, live_server, cast.alice.email, cast.password)
        start_shop_chat(
            shop_context,
            live_server,
            name="Sam Best",
            email="sam.best@example.com",
            question="Where are my wedding shoes?",
        )
        conversation = Conversation.objects.get(visitor_email="sam.best@example.com")
        assert conversation.customer_id is None and not conversation.verified
        agent.get_by_text("unverified: says they are sam.best@example.com").first.wait_for()
        agent.get_by_role("button", name="Join chat with Sam Best").click()
        pane = agent.locator(f".chat-pane[data-conversation='{conversation.pk}']")
        pane.get_by_text("Where are my wedding shoes?").wait_for()
        pane.locator(
            ".unverified-chat", has_text="Unverified: says they are sam.best@example.com"
        ).wait_for()
        assert "unverified" in pane.locator("header h2").inner_text()
        agent.wait_for_timeout(500)
        text = pane.inner_text()
        assert "WED-1" not in text and "1ZSAM0001" not in text and "Chapel" not in text
    finally:
        agent_context.close()
        shop_context.close()
