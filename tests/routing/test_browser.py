"""Auto-routing in Chromium: the visitor starts a chat on the shop's returns page, the online
agent's console opens it without a click (tab badge lit), and the visitor reads the agent's name.
A chat for a team with nobody online waits in the queue, its row showing the team."""

from __future__ import annotations

import re

import pytest

from livechat.models import Conversation, ConversationStatus
from teams import services as teams
from tests.helpers.browser import open_console, start_shop_chat
from tests.helpers.servers import start_daphne


@pytest.mark.browser
@pytest.mark.live
def test_a_new_chat_finds_the_online_agent_of_its_team(
    transactional_db, tmp_path, live_server_env, cast, browser
) -> None:
    server = start_daphne(tmp_path, {**live_server_env, "SUPPORTDESK_CHAT_ROUTING": "auto"})
    teams.create_team(name="Returns", member_ids=[cast.alice.pk], by=cast.carol)
    teams.create_team(name="Wholesale", member_ids=[cast.bob.pk], by=cast.carol)
    agent_context = browser.new_context(viewport={"width": 1440, "height": 900})
    shop_context = browser.new_context(viewport={"width": 1000, "height": 800})
    other_shop = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        agent = open_console(agent_context, server, cast.alice.email, cast.password)
        shop = start_shop_chat(
            shop_context,
            server,
            name="Ben Best",
            email="ben@shop.example",
            question="The shoes don't fit, can I send them back?",
            path="/demo/shop/?team=returns",
        )
        # No Join click: the chat opens in Alice's console by itself.
        conversation = Conversation.objects.get(visitor_email="ben@shop.example")
        pane = agent.locator(f".chat-pane[data-conversation='{conversation.pk}']")
        pane.get_by_text("can I send them back?").wait_for()
        assert re.match(r"^\(\d+\) ", agent.title())  # the tab badge
        shop.get_by_text("Alice Agent will be with you in a moment.").wait_for()
        assert agent.locator(f"#chat-queue li[data-conversation='{conversation.pk}']").count() == 0

        pane.get_by_label("Reply").fill("Of course! I'll send you a return label.")
        pane.get_by_label("Reply").press("Enter")
        shop.get_by_text("I'll send you a return label.").wait_for()
        assert not agent.title().startswith("(")  # acting in the console clears the badge
        conversation.refresh_from_db()
        assert conversation.assignee_id == cast.alice.pk
        assert conversation.status == ConversationStatus.ACTIVE

        # Wholesale's only member is offline: that chat waits, its queue row names the team.
        start_shop_chat(
            other_shop,
            server,
            name="Cy Store",
            email="cy@shop.example",
            question="Do you sell by the pallet?",
            path="/demo/shop/?team=wholesale",
        )
        waiting = Conversation.objects.get(visitor_email="cy@shop.example")
        row = agent.locator(f"#chat-queue li[data-conversation='{waiting.pk}']")
        row.locator(".queue-team", has_text="Wholesale").wait_for()
        waiting.refresh_from_db()
        assert waiting.assignee_id is None and waiting.team.slug == "wholesale"
    finally:
        agent_context.close()
        shop_context.close()
        other_shop.close()
        server.stop()
