"""/support/new takes photos and files with the request: stored on the ticket's first message, or
nothing at all when one of them is refused."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from attachments.models import Attachment, Source
from tests.helpers.attachments import photo_with_location
from tickets.models import Ticket

FORM = {
    "name": "Ben Best",
    "email": "ben@shop.example",
    "subject": "The box arrived crushed",
    "message": "Photo attached.",
    "website": "",
}


def test_the_web_form_accepts_photos_and_files(db):
    response = Client().post(
        "/support/new",
        {
            **FORM,
            "files": [
                SimpleUploadedFile("box.jpg", photo_with_location()),
                SimpleUploadedFile("receipt.pdf", b"%PDF-1.4\n%%EOF\n"),
            ],
        },
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    message = ticket.messages.get()
    files = {a.filename: a for a in message.attachments.all()}
    assert set(files) == {"box.jpg", "receipt.pdf"}
    assert {a.source for a in files.values()} == {Source.WEB}
    assert {a.ticket_id for a in files.values()} == {ticket.pk}
    with Image.open(io.BytesIO(files["box.jpg"].file.read())) as image:
        assert dict(image.getexif()) == {}


def test_a_refused_file_keeps_the_form_and_stores_nothing(db, settings):
    settings.SUPPORTDESK_MAX_UPLOAD_MB = 1

    too_big = Client().post(
        "/support/new",
        {**FORM, "files": [SimpleUploadedFile("video.mov", b"\x00" * (1024 * 1024 + 1))]},
    )
    empty = Client().post("/support/new", {**FORM, "files": [SimpleUploadedFile("e.pdf", b"")]})

    assert too_big.status_code == 413
    assert "larger than the limit" in too_big.content.decode()
    assert "The box arrived crushed" in too_big.content.decode()  # the draft is still there
    assert empty.status_code == 400
    assert "The file is empty" in empty.content.decode()
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
