"""In Chromium: a visitor sends a photo of the crushed box from the widget (attach button, with
upload progress); the agent sees its thumbnail in the console and answers with a file of their
own, which the visitor sees."""

from __future__ import annotations

import pytest

from attachments.models import Attachment
from livechat.models import ChatMessage, Conversation
from tests.helpers.attachments import photo_with_location
from tests.helpers.browser import open_console, start_shop_chat

LABEL = b"%PDF-1.7\n% return label\n%%EOF\n"


@pytest.mark.browser
@pytest.mark.live
def test_a_visitor_sends_a_photo_and_the_agent_sees_its_thumbnail(cast, live_server, browser):
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    shop_context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        agent = open_console(agent_context, live_server, cast.alice.email, cast.password)
        shop = start_shop_chat(
            shop_context,
            live_server,
            name="Ben Best",
            email="ben@shop.example",
            question="My box arrived crushed.",
        )
        conversation = Conversation.objects.get(visitor_email="ben@shop.example")
        agent.get_by_role("button", name="Join chat with Ben Best").click()
        pane = agent.locator(f".chat-pane[data-conversation='{conversation.pk}']")
        pane.get_by_text("My box arrived crushed.").wait_for()

        # The visitor attaches a photo (the attach button opens the file picker).
        with shop.expect_file_chooser() as chooser:
            shop.get_by_role("button", name="Attach a photo or PDF").click()
        chooser.value.set_files(
            files=[{"name": "box.jpg", "mimeType": "image/jpeg", "buffer": photo_with_location()}]
        )
        shop.locator(".m.visitor:not(.pending) .files img[src^='blob:']").wait_for()

        thumbnail = pane.locator(".chat-files img.thumb")
        thumbnail.wait_for()
        assert agent.evaluate(
            "(img) => img.complete && img.naturalWidth > 0", thumbnail.element_handle()
        )
        assert thumbnail.get_attribute("alt") == "box.jpg"

        # The agent answers with a file: the visitor gets it in the chat.
        with agent.expect_file_chooser() as chooser:
            pane.get_by_role("button", name="Attach").click()
        chooser.value.set_files(
            files=[{"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": LABEL}]
        )
        shop.locator(".m.agent .files button", has_text="return-label.pdf").wait_for()
    finally:
        agent_context.close()
        shop_context.close()

    photo_line = ChatMessage.objects.get(conversation=conversation, body="box.jpg")
    [photo] = photo_line.attachments.all()
    assert photo.thumbnail and photo.content_type == "image/jpeg"
    assert b"Phone 15" not in photo.file.read()  # EXIF gone before the agent saw it
    label = Attachment.objects.get(filename="return-label.pdf")
    assert label.conversation_id == conversation.pk and label.chat_message_id is not None
