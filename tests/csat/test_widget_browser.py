"""In Chromium: when the agent ends the chat, the widget asks for a rating; rating again changes it."""

from __future__ import annotations

import urllib.request

import pytest
from django.test import Client

from accounts.services import issue_api_token
from csat.models import Survey
from livechat import services as chat
from livechat.models import Conversation
from tests.helpers.csat import token_in


@pytest.mark.browser
@pytest.mark.live
def test_the_widget_rates_the_chat_when_it_ends(cast, live_server, page, smtp_sink) -> None:
    chat.agent_connected(cast.alice)  # someone is online, so the widget opens a chat
    page.goto(f"{live_server.url}/demo/shop/")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Name").first.fill("Ben Best")
    page.get_by_label("Email").first.fill("ben@shop.example")
    page.get_by_label("Your question").fill("Do you ship to Iceland?")
    page.get_by_role("button", name="Start chat").click()
    page.locator(".m.visitor:not(.pending)").wait_for()

    conversation = Conversation.objects.get(visitor_email="ben@shop.example")
    # The agent joins and ends the chat over the API of the live server, which pushes the frame.
    token = issue_api_token(cast.alice)
    for action in ("join", "end"):
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/chats/{conversation.pk}/{action}",
            data=b"",
            headers={"Authorization": f"Bearer {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            assert response.status == 200

    rating = page.get_by_role("group", name="Rating")
    rating.get_by_role("button", name="4").click()
    page.get_by_label("Comment (optional)").fill("Quick & <b>kind</b>")
    page.get_by_role("button", name="Send rating").click()
    page.get_by_text("Thank you! You rated this chat 4 of 5").wait_for()
    survey = Survey.objects.get(conversation=conversation)
    assert (survey.rating, survey.comment, survey.agent) == (4, "Quick & <b>kind</b>", cast.alice)

    # A reload resumes the ended chat: the form is offered again and changes the one rating.
    page.reload()
    page.get_by_role("button", name="Open chat").click()
    page.get_by_role("group", name="Rating").get_by_role("button", name="5").click()
    page.get_by_role("button", name="Send rating").click()
    page.get_by_text("You rated this chat 5 of 5").wait_for()
    assert list(Survey.objects.values_list("rating", flat=True)) == [5]

    # The visitor gave an email, so the survey went there too; its link shows the same rating.
    [mail] = [m for m in smtp_sink.wait_for(1) if m["Subject"].startswith("How did we do?")]
    assert mail["To"] == "ben@shop.example"
    form = Client().get(f"/csat/{token_in(mail.get_body(('plain',)).get_content())}/")
    assert b'value="5" required checked' in form.content
