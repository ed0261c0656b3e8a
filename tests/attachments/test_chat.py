"""Files in chats: message frames from either side and the agents' HTTP API take
`attachment_ids`; message frames and message JSON carry `attachments`; resume replays them; a file
of another conversation is refused with nothing stored."""

from __future__ import annotations

import json
import urllib.request

import pytest

from accounts.services import issue_api_token
from livechat import services as chat_services
from livechat.models import ChatMessage, Conversation
from tests.helpers.attachments import Socket, new_visitor, photo_with_location, run_async, upload

PDF = b"%PDF-1.7\n% receipt\n%%EOF\n"


def _file_json(attachment: dict) -> dict:
    return {k: attachment[k] for k in ("id", "filename", "content_type", "size", "url")}


def test_an_agent_posts_a_file_over_http_and_the_chat_json_carries_it(api_client, visitor, cast):
    chat_services.join_conversation(visitor.conversation_id, agent=cast.alice)
    label = upload(api_client, "/api/v1/uploads", "label.pdf", PDF).json()

    response = api_client.post(
        f"/api/v1/chats/{visitor.conversation_id}/messages",
        {"body": "Your return label", "client_id": "a-1", "attachment_ids": [label["id"]]},
        content_type="application/json",
    )

    assert response.status_code == 201
    [sent] = response.json()["attachments"]
    assert _file_json(sent) == _file_json(label)
    detail = api_client.get(f"/api/v1/chats/{visitor.conversation_id}").json()
    line = next(m for m in detail["messages"] if m["client_id"] == "a-1")
    assert [_file_json(a) for a in line["attachments"]] == [_file_json(label)]
    # The visitor of this chat may now read it; another visitor may not.
    assert visitor.client().get(label["url"]).status_code == 200
    other = new_visitor("Eve", "eve@shop.example")
    assert other.client().get(label["url"]).status_code == 404


def test_a_file_from_another_conversation_in_a_message_is_422_and_nothing_is_stored(
    api_client, visitor, other_visitor, cast
):
    chat_services.join_conversation(visitor.conversation_id, agent=cast.alice)
    theirs = other_visitor.upload("theirs.pdf", PDF).json()
    seq_before = Conversation.objects.get(pk=visitor.conversation_id).last_seq

    response = api_client.post(
        f"/api/v1/chats/{visitor.conversation_id}/messages",
        {"body": "look", "client_id": "a-2", "attachment_ids": [theirs["id"]]},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "foreign_attachment"
    assert Conversation.objects.get(pk=visitor.conversation_id).last_seq == seq_before
    assert not ChatMessage.objects.filter(client_id="a-2").exists()
    with pytest.raises(chat_services.ChatError) as error:
        chat_services.post_message(
            visitor.conversation_id,
            author_type="visitor",
            body="mine?",
            client_id="v-9",
            attachment_ids=[theirs["id"]],
        )
    assert error.value.code == "foreign_attachment"
    assert not ChatMessage.objects.filter(client_id="v-9").exists()


@pytest.mark.live
def test_a_visitors_photo_reaches_the_agent_and_resume_replays_it(live_server, cast):
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/widget/sessions",
        data=json.dumps({"name": "Ben", "email": "ben@shop.example"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        session = json.loads(response.read())
    token, conversation_id = session["visitor_token"], session["conversation_id"]
    other = new_visitor("Eve", "eve@shop.example")
    theirs = other.upload("theirs.pdf", PDF).json()
    from django.test import Client

    photo = upload(
        Client(HTTP_AUTHORIZATION=f"Bearer {token}"),
        "/api/v1/widget/uploads",
        "box.jpg",
        photo_with_location(),
    ).json()
    agent_token = issue_api_token(cast.alice)
    visitor_url = f"{live_server.ws_url}/ws/chat/?token={token}"

    async def scenario() -> None:
        agent = await Socket.open(
            f"{live_server.ws_url}/ws/agent/",
            origin=live_server.url,
            headers={"Authorization": f"Bearer {agent_token}"},
        )
        visitor = await Socket.open(visitor_url, origin=live_server.url)
        await visitor.send({"type": "message", "client_id": "v-1", "body": "Hello"})
        await visitor.next(lambda f: f["type"] == "ack")
        await agent.send({"type": "join", "conversation_id": conversation_id})
        await agent.next(lambda f: f["type"] == "message" and f["client_id"] == "v-1")

        # Someone else's file: an error frame, the socket lives, nothing stored.
        await visitor.send(
            {"type": "message", "client_id": "v-2", "body": "x", "attachment_ids": [theirs["id"]]}
        )
        error = await visitor.next(lambda f: f["type"] == "error")
        assert error["code"] == "foreign_attachment" and error["client_id"] == "v-2"
        for bad in ("7", [0.5], ["a"], list(range(30))):
            await visitor.send(
                {"type": "message", "client_id": "v-x", "body": "x", "attachment_ids": bad}
            )
            assert (await visitor.next(lambda f: f["type"] == "error"))["code"] in (
                "invalid",
                "too_many",
                "foreign_attachment",
            )

        await visitor.send(
            {
                "type": "message",
                "client_id": "v-3",
                "body": "The box arrived crushed",
                "attachment_ids": [photo["id"]],
            }
        )
        ack = await visitor.next(lambda f: f["type"] == "ack" and f["client_id"] == "v-3")
        seen = await agent.next(lambda f: f["type"] == "message" and f["client_id"] == "v-3")
        [file] = seen["attachments"]
        assert _file_json(file) == _file_json(photo)
        assert file["thumbnail_url"] == photo["thumbnail_url"]
        echoed = await visitor.next(lambda f: f["type"] == "message" and f["client_id"] == "v-3")
        assert echoed["attachments"] == seen["attachments"]
        await visitor.close()

        # A new tab (or a reconnect) resumes from the database: the file comes with the line.
        again = await Socket.open(visitor_url, origin=live_server.url)
        await again.send({"type": "resume", "after_seq": ack["seq"] - 1})
        replayed = await again.next(lambda f: f["type"] == "message" and f["seq"] == ack["seq"])
        assert replayed["attachments"] == seen["attachments"]
        await again.close()
        await agent.close()

    run_async(scenario())
    assert not ChatMessage.objects.filter(client_id="v-2").exists()
    line = ChatMessage.objects.get(client_id="v-3")
    assert [a.pk for a in line.attachments.all()] == [photo["id"]]
