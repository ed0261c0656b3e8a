"""In Chromium: the customer's chat sets expectations. Until an agent joins, the widget says someone
is coming and how long that usually takes; every line carries its time."""

from __future__ import annotations

import re

import pytest

from tests.helpers.browser import open_console, start_shop_chat

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_widget_shows_its_waiting_state_until_an_agent_joins(cast, live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    agent = open_console(context, live_server, cast.alice.email, cast.password)
    shop = start_shop_chat(
        context, live_server, name="Sam Best", email="sam@shop.example",
        question="Is the blue dress back in size S?",
    )  # fmt: skip

    waiting = shop.locator(".waiting")
    waiting.wait_for()
    assert "Waiting for an agent" in waiting.inner_text()
    assert re.fullmatch(r"\d\d:\d\d( [AP]M)?", shop.locator(".m.visitor .at").first.inner_text())

    agent.bring_to_front()
    agent.get_by_role("button", name="Join chat with Sam Best").click()
    waiting.wait_for(state="hidden")
    shop.reload()
    shop.get_by_role("button", name="Open chat").click()
    shop.locator(".m.system").first.wait_for()
    assert not shop.locator(".waiting").is_visible()
    context.close()
