"""An agent answers with files: the email carries them as MIME parts (checked at the real SMTP
sink), the durable outgoing row holds them, and a file from another conversation stops the reply
before anything is stored or sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from attachments.models import Attachment
from livechat.models import Conversation
from mailer.delivery import deliver_due
from mailer.models import OutboundEmail, OutboundStatus
from tests import factories
from tests.helpers.attachments import photo_with_location, upload
from tickets import services as ticket_services
from tickets.models import Message

LABEL = b"%PDF-1.7\n% return label for order 1001\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def ticket(db):
    customer = factories.CustomerFactory(name="Pat Customer", email="pat@shop.example")
    ticket, _ = ticket_services.create_ticket(
        ticket_services.NewTicket(
            customer=customer,
            subject="The box arrived crushed",
            body_text="The box arrived crushed, photo attached.",
            channel="email",
            message_id="<crushed-1@shop.example>",
        )
    )
    return ticket


def _reply(api_client, ticket, body, ids):
    return api_client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        {"body": body, "attachment_ids": ids},
        content_type="application/json",
    )


def test_a_reply_with_a_label_arrives_with_it_as_a_mime_part(api_client, ticket, smtp_sink):
    label = upload(api_client, "/api/v1/uploads", "return-label.pdf", LABEL).json()
    photo = upload(api_client, "/api/v1/uploads", "how-to-pack.jpg", photo_with_location()).json()

    response = _reply(api_client, ticket, "Here is your return label.", [label["id"], photo["id"]])

    assert response.status_code == 201
    assert [a["id"] for a in response.json()["attachments"]] == [label["id"], photo["id"]]
    assert deliver_due() == 1
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "pat@shop.example"
    assert mail["In-Reply-To"] == "<crushed-1@shop.example>"
    assert mail.get_content_type() == "multipart/mixed"
    assert "Here is your return label." in mail.get_body(("plain",)).get_content()
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(parts) == {"return-label.pdf", "how-to-pack.jpg"}
    assert parts["return-label.pdf"].get_content_type() == "application/pdf"
    assert parts["return-label.pdf"].get_content() == LABEL
    assert parts["how-to-pack.jpg"].get_content_type() == "image/jpeg"
    stored = Attachment.objects.get(pk=photo["id"])
    assert parts["how-to-pack.jpg"].get_content() == stored.file.read()
    # Files sent on the ticket belong to it now.
    message = Message.objects.get(pk=response.json()["id"])
    assert {a.ticket_id for a in message.attachments.all()} == {ticket.pk}


def test_a_resend_after_a_crash_carries_the_same_files(api_client, ticket, smtp_sink):
    label = upload(api_client, "/api/v1/uploads", "return-label.pdf", LABEL).json()
    _reply(api_client, ticket, "Label attached.", [label["id"]])
    email = OutboundEmail.objects.get(ticket=ticket)
    assert email.attachments == [
        {
            "name": Attachment.objects.get(pk=label["id"]).file.name,
            "filename": "return-label.pdf",
            "content_type": "application/pdf",
        }
    ]
    assert LABEL[:40] in bytes(email.raw_message) or b"JVBERi0xLjcK" in bytes(email.raw_message)

    assert deliver_due() == 1
    # The worker died after the relay took the mail and before the row was marked sent: the
    # lease runs out and the row goes again. Even with the stored file gone, the row's own bytes
    # are what is sent.
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundStatus.SENDING, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    Attachment.objects.get(pk=label["id"]).file.delete(save=False)
    assert deliver_due() == 1

    first, second = smtp_sink.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"]
    for mail in (first, second):
        [part] = list(mail.iter_attachments())
        assert part.get_filename() == "return-label.pdf"
        assert part.get_content() == LABEL


def test_an_attachment_from_another_conversation_is_422_and_nothing_is_sent(
    api_client, ticket, cast, visitor
):
    other_ticket, _ = ticket_services.create_ticket(
        ticket_services.NewTicket(
            customer=factories.CustomerFactory(email="eve@shop.example"),
            subject="Other",
            body_text="x",
            channel="email",
        )
    )
    theirs = upload(api_client, "/api/v1/uploads", "theirs.pdf", LABEL).json()
    assert _reply(api_client, other_ticket, "For Eve", [theirs["id"]]).status_code == 201
    visitors_file = visitor.upload("chat-photo.jpg", photo_with_location()).json()
    from django.test import Client

    from accounts.services import issue_api_token

    bob = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.bob)}")
    bobs_draft = upload(bob, "/api/v1/uploads", "bobs.pdf", LABEL).json()
    mine = upload(api_client, "/api/v1/uploads", "mine.pdf", LABEL).json()
    messages_before = Message.objects.filter(ticket=ticket).count()
    emails_before = OutboundEmail.objects.count()

    for foreign in (theirs["id"], visitors_file["id"], bobs_draft["id"], 987654):
        response = _reply(api_client, ticket, "Label attached", [mine["id"], foreign])
        assert response.status_code == 422, foreign
        assert response.json()["code"] == "foreign_attachment"
        assert str(foreign) in response.json()["detail"]

    assert Message.objects.filter(ticket=ticket).count() == messages_before
    assert OutboundEmail.objects.count() == emails_before
    # My own upload is still mine to send, untouched by the refused replies.
    assert Attachment.objects.get(pk=mine["id"]).ticket_id is None
    assert Attachment.objects.get(pk=visitors_file["id"]).conversation_id == (
        Conversation.objects.get(pk=visitor.conversation_id).pk
    )
    assert _reply(api_client, ticket, "Label attached", [mine["id"]]).status_code == 201


def test_a_file_is_sent_once(api_client, ticket):
    label = upload(api_client, "/api/v1/uploads", "return-label.pdf", LABEL).json()
    assert _reply(api_client, ticket, "Label", [label["id"]]).status_code == 201

    again = _reply(api_client, ticket, "Label again", [label["id"]])

    assert again.status_code == 422
    assert again.json()["code"] == "attachment_used"


def test_a_reply_can_be_only_a_file_and_an_internal_note_sends_nothing(api_client, ticket):
    label = upload(api_client, "/api/v1/uploads", "label.pdf", LABEL).json()
    note_file = upload(api_client, "/api/v1/uploads", "notes.txt", b"carrier claim 123").json()

    only_file = _reply(api_client, ticket, "", [label["id"]])
    note = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        {"body": "Claim filed", "internal": True, "attachment_ids": [note_file["id"]]},
        content_type="application/json",
    )
    neither = _reply(api_client, ticket, "  ", [])

    assert only_file.status_code == 201
    assert only_file.json()["attachments"][0]["filename"] == "label.pdf"
    assert note.status_code == 201
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1
    assert neither.status_code == 422
