"""A hostile email with thousands of parts: a few are kept, the raw mail is kept whole, and an
internal note tells the agent what was not stored."""

from __future__ import annotations

import hashlib

from django.test import Client

from attachments.models import Attachment
from tests.helpers.inbound import build_email, post_raw
from tickets.models import InboundEmail, Message


def test_an_email_with_5000_parts_keeps_50_attachments_the_raw_and_a_note(db, settings):
    assert settings.SUPPORTDESK_MAX_ATTACHMENTS_PER_EMAIL == 50
    msg = build_email(body="Please see the files.")
    for i in range(5000):
        msg.add_attachment(
            f"part {i}".encode(),
            maintype="application",
            subtype="octet-stream",
            filename=f"f{i}.bin",
        )
    raw = msg.as_bytes()

    response = post_raw(Client(), raw)

    assert response.status_code == 202
    data = response.json()
    message = Message.objects.get(pk=data["message_id"])
    assert "Please see the files." in message.body_text
    kept = list(Attachment.objects.filter(message=message).order_by("id"))
    assert len(kept) == 50
    assert [a.filename for a in kept[:2]] == ["f0.bin", "f1.bin"]
    assert Attachment.objects.count() == 50
    inbound = InboundEmail.objects.get(ticket_id=data["ticket_id"])
    assert hashlib.sha256(bytes(inbound.raw)).hexdigest() == hashlib.sha256(raw).hexdigest()
    note = Message.objects.get(ticket_id=data["ticket_id"], internal=True)
    assert "4,950 attachments were not stored" in note.body_text
    assert "'f50.bin'" in note.body_text and "at most 50" in note.body_text
    assert "raw message" in note.body_text


def test_the_cap_is_a_setting(db, settings):
    settings.SUPPORTDESK_MAX_ATTACHMENTS_PER_EMAIL = 2
    msg = build_email(body="three files")
    for i in range(3):
        msg.add_attachment(b"x", maintype="text", subtype="plain", filename=f"n{i}.txt")

    data = post_raw(Client(), msg.as_bytes()).json()

    assert Attachment.objects.filter(message_id=data["message_id"]).count() == 2
    note = Message.objects.get(ticket_id=data["ticket_id"], internal=True)
    assert "1 attachment was not stored ('n2.txt')" in note.body_text
