"""In Chromium: the chat console is a workspace. The queue says who waits, for how long and why;
the conversation stays in view while granting; ending is confirmed; an ended chat's tools are off."""

from __future__ import annotations

import re

import pytest

from core.realtime import asend_event
from tests.helpers.browser import open_console, start_shop_chat
from tests.helpers.chat import run

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    yield context
    context.close()


def test_the_queue_shows_the_question_and_the_wait(cast, live_server, context) -> None:
    agent = open_console(context, live_server, cast.alice.email, cast.password)
    start_shop_chat(
        context, live_server, name="Sam Best", email="sam@shop.example",
        question="Do the oxfords run small?",
    )  # fmt: skip
    agent.bring_to_front()

    row = agent.locator("#chat-queue li", has_text="Sam Best")
    row.locator(".queue-preview", has_text="Do the oxfords run small?").wait_for()
    assert re.match(r"waiting \d+(s|m)", row.locator(".queue-wait").inner_text())


def test_granting_keeps_the_conversation_in_view_and_two_chats_are_tabs(
    cast, live_server, context, browser
) -> None:
    agent = open_console(context, live_server, cast.alice.email, cast.password)
    start_shop_chat(context, live_server, name="Sam Best", email="sam@shop.example",
                    question="My shoes went to the wrong address")  # fmt: skip
    other_visitor = browser.new_context()  # another person: the widget keeps one chat per browser
    start_shop_chat(other_visitor, live_server, name="Ana Ruiz", email="ana@shop.example",
                    question="Is the blue dress back?")  # fmt: skip
    agent.bring_to_front()
    agent.get_by_role("button", name="Join chat with Sam Best").click()
    agent.get_by_role("button", name="Join chat with Ana Ruiz").click()

    tabs = agent.get_by_role("tab")
    assert tabs.count() == 2
    agent.get_by_role("tab", name="Sam Best").click()
    pane = agent.locator(".chat-pane:not([hidden])")
    log = pane.locator(".chat-log")
    log.get_by_text("My shoes went to the wrong address").wait_for()
    pane.get_by_role("button", name=re.compile("Make it right in chat")).click()
    pane.locator("form.grant-dialog").wait_for()

    # The dialog sits in the right column: the log keeps its size and does not overlap it.
    log_box, dialog_box = log.bounding_box(), pane.locator("form.grant-dialog").bounding_box()
    assert log_box["height"] > 300
    assert dialog_box["x"] >= log_box["x"] + log_box["width"] - 1
    assert log.get_by_text("My shoes went to the wrong address").is_visible()
    other_visitor.close()


def test_ending_is_confirmed_and_an_ended_chat_offers_no_tools(cast, live_server, context):
    agent = open_console(context, live_server, cast.alice.email, cast.password)
    start_shop_chat(context, live_server, name="Sam Best", email="sam@shop.example",
                    question="Thanks, that is all")  # fmt: skip
    agent.bring_to_front()
    agent.get_by_role("button", name="Join chat with Sam Best").click()
    pane = agent.locator(".chat-pane:not([hidden])")
    transfer = pane.get_by_label("Transfer to")
    assert transfer.input_value() == ""  # nobody preselected, least of all yourself
    assert "Alice Agent" not in transfer.inner_text()

    pane.get_by_role("button", name="End chat…").click()
    pane.get_by_role("button", name="Keep chatting").click()
    assert not pane.locator(".chat-ended-note").count()
    pane.get_by_role("button", name="End chat…").click()
    pane.get_by_role("button", name="End chat", exact=True).click()

    pane.locator(".chat-ended-note").wait_for()
    assert pane.locator(".chat-compose textarea").is_disabled()
    assert pane.get_by_role("button", name="Send").is_disabled()
    assert pane.get_by_role("button", name=re.compile("Make it right in chat")).is_disabled()


def test_a_late_preview_does_not_bring_back_a_chat_an_agent_took(
    cast, live_server, context
) -> None:
    """Previews of a waiting chat's lines are batched (livechat/queue_previews.py), so one can
    arrive after a newer state of its chat that another process published at once."""
    from concurrent.futures import ThreadPoolExecutor

    from livechat import events, services
    from livechat.models import Conversation

    def server_side(action, *args, **kwargs):
        # Off the test thread, whose event loop (Playwright's) would stop the publish.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(action, *args, **kwargs).result()

    agent = open_console(context, live_server, cast.alice.email, cast.password)
    sam, _ = server_side(services.start_session, name="Sam Best", email="sam@shop.example")
    server_side(services.post_message, sam.pk, author_type="visitor", body="Hello?", client_id="v1")
    queued = agent.locator("#chat-queue li", has_text="Sam Best")
    queued.wait_for()
    late = events.queue_frame(Conversation.objects.get(pk=sam.pk), "waiting", preview="Size 44")

    server_side(services.join_conversation, sam.pk, agent=cast.bob)
    queued.wait_for(state="detached")
    server_side(
        run, asend_event(events.QUEUE_GROUP, events.group_event(events.queue_batch_frame([late])))
    )  # fmt: skip
    # A chat that starts after it shows the late preview was read.
    lee, _ = server_side(services.start_session, name="Lee Later", email="lee@shop.example")
    server_side(services.post_message, lee.pk, author_type="visitor", body="Hi", client_id="l1")
    agent.locator("#chat-queue li", has_text="Lee Later").wait_for()
    assert queued.count() == 0
