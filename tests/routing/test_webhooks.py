"""chat.started, chat.ended and story.nominated reach webhooks through the outbox (written in the
change's transaction), and Slack hears about a new chat only when nobody is online."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from livechat import services as chat
from webhooks import services
from webhooks.models import Event
from wow_credits.services import nominate_story

SECRET = "a-webhook-secret-of-some-length"


class Receiver:
    """A local HTTP receiver that keeps every body and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings):
    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.SUPPORTDESK_WEBHOOK_TIMEOUT = 2.0
    r = Receiver()
    yield r
    r.server.shutdown()


def _subscribe(receiver: Receiver, *, kind: str = "generic", events=()) -> None:
    services.create_webhook(
        url=receiver.url, events=list(events), secret=SECRET, kind=kind, by=None
    )


def _start_chat(name: str = "Ben"):
    conversation, _ = chat.start_session(name=name, email=f"{name.lower()}@shop.example")
    chat.post_message(conversation.pk, author_type="visitor", body="Where are my shoes?")
    return conversation


def test_chat_started_and_ended_are_delivered_once_each_in_order(receiver, cast):
    _subscribe(receiver, events=["chat.started", "chat.ended"])
    conversation = _start_chat()
    chat.post_message(conversation.pk, author_type="visitor", body="Hello?")  # not a new start
    chat.join_conversation(conversation.pk, agent=cast.alice)
    chat.end_conversation(conversation.pk, by=cast.alice)

    assert services.deliver_due() == 2
    started, ended = receiver.bodies
    assert (started["type"], ended["type"]) == ("chat.started", "chat.ended")
    assert started["data"]["id"] == ended["data"]["id"] == conversation.pk
    assert started["data"]["agents_online"] is False
    assert started["data"]["visitor_name"] == "Ben"
    assert ended["data"]["ended_by"] == "agent" and ended["data"]["ended_by_id"] == cast.alice.pk
    assert ended["data"]["assignee_id"] == cast.alice.pk


def test_a_session_nobody_writes_in_is_no_chat_and_a_rolled_back_line_no_event(receiver, cast):
    _subscribe(receiver, events=["chat.started"])
    conversation, _ = chat.start_session(name="Ann", email="ann@shop.example")
    assert not Event.objects.exists()  # the widget's account pages open sessions too
    with pytest.raises(RuntimeError), transaction.atomic():
        chat.post_message(conversation.pk, author_type="visitor", body="Hi")
        raise RuntimeError("the request failed")
    assert not Event.objects.exists()
    chat.post_message(conversation.pk, author_type="visitor", body="Hi")
    assert list(Event.objects.values_list("type", flat=True)) == ["chat.started"]


def test_slack_hears_of_a_new_chat_only_while_nobody_is_online(receiver, cast):
    _subscribe(receiver, kind="slack")
    first = _start_chat("Ben")
    chat.agent_connected(cast.alice)
    _start_chat("Cy")  # Alice is online: her console tells her, Slack stays quiet
    chat.end_conversation(first.pk)

    services.deliver_due()
    assert [b["text"] for b in receiver.bodies] == [
        f"A new chat is waiting and nobody is online: Ben (chat {first.pk})"
    ]


def test_a_nominated_wow_story_reads_well_in_slack_and_is_an_event(
    receiver, cast, core_values, settings
):
    _subscribe(receiver, kind="slack")
    _subscribe(receiver, events=["story.nominated"])
    story = nominate_story(
        by=cast.alice,
        title="New shoes before the wedding",
        story="Rerouted overnight and refunded.",
        values=["Deliver WOW through service"],
        subject_user=cast.bob,
    )

    services.deliver_due()
    texts = [b["text"] for b in receiver.bodies if "text" in b]
    events = [b for b in receiver.bodies if "type" in b]
    assert texts == [
        "WOW story nominated by Alice Agent about Bob Builder: \u201cNew shoes before the "
        "wedding\u201d (Deliver WOW through service) "
        f"{settings.SITE_URL}/wall/#story-{story.pk}"
    ]
    assert events[0]["type"] == "story.nominated"
    assert events[0]["data"]["title"] == "New shoes before the wedding"
    assert events[0]["data"]["values"] == ["Deliver WOW through service"]
