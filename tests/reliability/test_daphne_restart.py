"""daphne restarted under an open chat: the widget in Chromium reconnects and resumes by itself,
showing what the agent wrote meanwhile once, and the visitor's next line arrives once."""

from __future__ import annotations

import pytest

from livechat import services
from livechat.models import ChatMessage, Conversation

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_widget_reconnects_and_resumes_after_a_daphne_restart(cast, live_server, page):
    services.agent_connected(cast.alice)  # an agent is online, so the widget offers a chat
    page.goto(f"{live_server.url}/demo/shop/")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Name").first.fill("Ben Best")
    page.get_by_label("Email").first.fill("ben@shop.example")
    page.get_by_label("Your question").fill("Do you ship overnight?")
    page.get_by_role("button", name="Start chat").click()
    page.locator(".m.visitor:not(.pending)").wait_for()
    conversation = Conversation.objects.get(visitor_email="ben@shop.example")

    live_server.stop()
    # Written while the visitor's socket is down (the agent's process is another server).
    services.post_message(
        conversation.pk,
        author_type="agent",
        author_user=cast.alice,
        body="Yes, we do: order by 6pm.",
    )
    live_server.restart()

    page.get_by_text("Yes, we do: order by 6pm.").wait_for(timeout=45_000)
    page.get_by_label("Type your message").fill("Great, ordering now!")
    page.get_by_label("Type your message").press("Enter")
    page.locator(".m.visitor:not(.pending)", has_text="Great, ordering now!").wait_for(
        timeout=30_000
    )
    assert page.locator(".m", has_text="Yes, we do: order by 6pm.").count() == 1
    assert ChatMessage.objects.filter(body="Great, ordering now!").count() == 1
