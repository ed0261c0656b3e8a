"""Uploaded files (email attachments): typed by their bytes, never trusted by name or label,
stored under random names, size-limited, and always downloaded, never rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from attachments.models import Attachment
from tests.helpers.inbound import build_email, post_raw
from tickets.models import Message

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML = b"<html><body><script>fetch('/api/v1/tickets')</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _inbound(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


def _attach(filename: str, content: bytes, maintype: str, subtype: str) -> Attachment:
    msg = build_email(body="see attached")
    msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    response = post_raw(Client(), msg.as_bytes())
    assert response.status_code == 202
    message = Message.objects.get(pk=response.json()["message_id"])
    (attachment,) = message.attachments.all()
    return attachment


# (filename, bytes, declared type, expected stored type, expected display name)
CASES = [
    ("photo.png", HTML, ("image", "png"), "application/octet-stream", "photo.png"),
    ("logo.svg", SVG, ("image", "svg+xml"), "application/octet-stream", "logo.svg"),
    ("page.html", HTML, ("text", "html"), "application/octet-stream", "page.html"),
    ("invoice.pdf.exe", PDF, ("application", "octet-stream"), "application/pdf", "invoice.pdf.exe"),
    ("scan.jpg", PNG, ("image", "jpeg"), "image/png", "scan.jpg"),
    (
        "../../../../etc/passwd",
        b"root:x:0:0",
        ("text", "plain"),
        "text/plain",
        "_.._.._.._etc_passwd",
    ),
    ("C:\\Windows\\evil.bat", b"@echo off", ("text", "plain"), "text/plain", "C:_Windows_evil.bat"),
    ("invoice\u202egpj.exe", b"MZ", ("application", "octet-stream"), None, "invoicegpj.exe"),
    ("a" * 600 + ".txt", b"long", ("text", "plain"), "text/plain", None),
]


@pytest.mark.parametrize(("filename", "content", "declared", "stored_type", "shown"), CASES)
def test_attachments_are_typed_by_bytes_and_named_for_display_only(
    world, filename, content, declared, stored_type, shown
):
    attachment = _attach(filename, content, *declared)

    if stored_type:
        assert attachment.content_type == stored_type
    assert attachment.content_type not in ("text/html", "image/svg+xml", "application/javascript")
    if shown:
        assert attachment.filename == shown
    assert len(attachment.filename) <= 255
    assert not any(c in attachment.filename for c in "/\\\r\n\x00\u202e")
    # The bytes are kept exactly, on disk under a random name inside MEDIA_ROOT.
    media = Path(attachment.file.storage.location).resolve()
    path = Path(attachment.file.path).resolve()
    assert path.is_relative_to(media / "attachments")
    assert path.name not in filename and "." not in path.name
    assert path.read_bytes() == content

    response = world.client("agent").get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "\n" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == content


def test_an_attachment_at_the_size_limit_is_kept_and_one_byte_more_is_dropped(world, settings):
    settings.SUPPORTDESK_MAX_ATTACHMENT_BYTES = 1000
    kept = _attach("exact.bin", b"x" * 1000, "application", "octet-stream")
    assert kept.size == 1000

    msg = build_email(body="the mail itself is kept")
    msg.add_attachment(b"y" * 1001, maintype="application", subtype="octet-stream", filename="big")
    response = post_raw(Client(), msg.as_bytes())

    assert response.status_code == 202
    message = Message.objects.get(pk=response.json()["message_id"])
    assert not message.attachments.exists()
    assert "the mail itself is kept" in message.body_text
    note = Message.objects.filter(ticket=message.ticket, internal=True).last()
    assert note is not None and "big" in note.body_text


def test_attachments_are_not_served_to_anyone_but_staff(world):
    # The visitor's token is for another conversation, the customer holds no signed link for it.
    for role in ("anonymous", "visitor", "customer"):
        response = world.client(role).get(f"/attachments/{world.attachment.pk}/")
        assert response.status_code == 404, role
