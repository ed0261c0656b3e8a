"""Inbound email: the signed webhook, threading, parts, auto-replies, the pipe and retries."""

from __future__ import annotations

import base64
import io
import threading
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from attachments.models import Attachment
from mailer.models import OutboundEmail
from tests import factories
from tests.helpers.inbound import build_email, post_raw
from tickets.inbound import ingest_raw_email
from tickets.models import (
    AuthorType,
    InboundEmail,
    InboundStatus,
    Message,
    Status,
    Ticket,
)
from tickets.services import reply_address

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


@pytest.fixture
def client() -> Client:
    return Client()


def test_new_mail_opens_a_ticket_for_a_new_customer(db, client):
    raw = build_email().as_bytes()

    response = post_raw(client, raw)

    assert response.status_code == 202, response.content
    data = response.json()
    assert data["created"] is True
    ticket = Ticket.objects.get(pk=data["ticket_id"])
    assert ticket.channel == "email"
    assert ticket.subject == "Where are my shoes?"
    assert ticket.customer.primary_email == "pat@shop.example"
    assert ticket.customer.name == "Pat Customer"
    message = Message.objects.get(pk=data["message_id"])
    assert message.ticket == ticket
    assert "has not arrived" in message.body_text
    inbound = InboundEmail.objects.get()
    assert inbound.status == InboundStatus.PROCESSED
    assert bytes(inbound.raw) == raw
    assert inbound.ticket_message == message


def test_mail_from_a_known_address_goes_to_that_customer(db, client):
    customer = factories.CustomerFactory(email="known@shop.example")

    data = post_raw(client, build_email(sender="known@shop.example").as_bytes()).json()

    assert Ticket.objects.get(pk=data["ticket_id"]).customer == customer


def test_reply_threads_by_in_reply_to(db, client):
    first = build_email()
    opened = post_raw(client, first.as_bytes()).json()

    reply = build_email(subject="Re: something else", in_reply_to=first["Message-ID"])
    data = post_raw(client, reply.as_bytes()).json()

    assert data["created"] is False
    assert data["ticket_id"] == opened["ticket_id"]
    assert Message.objects.filter(ticket_id=opened["ticket_id"]).count() == 2


def test_reply_threads_by_references_when_in_reply_to_is_unknown(db, client):
    first = build_email()
    opened = post_raw(client, first.as_bytes()).json()

    reply = build_email(
        subject="Different",
        in_reply_to="<unknown@elsewhere.example>",
        references=f"{first['Message-ID']} <other@elsewhere.example>",
    )

    assert post_raw(client, reply.as_bytes()).json()["ticket_id"] == opened["ticket_id"]


def test_reply_threads_by_the_ticket_reference_in_the_reply_address(db, client):
    opened = post_raw(client, build_email().as_bytes()).json()
    ticket = Ticket.objects.get(pk=opened["ticket_id"])

    # Headers lost (a client that strips them), but the reply address carries the reference.
    reply = build_email(subject="Hello again", to=f"Support <{reply_address(ticket)}>")

    assert post_raw(client, reply.as_bytes()).json()["ticket_id"] == ticket.pk


def test_a_spoofed_reply_address_from_another_sender_opens_a_new_ticket(db, client):
    opened = post_raw(client, build_email().as_bytes()).json()
    ticket = Ticket.objects.get(pk=opened["ticket_id"])

    intruder = build_email(
        sender="mallory@evil.example",
        to=reply_address(ticket),
        subject=f"Re: [#{ticket.reference}]",
        references=Message.objects.get(pk=opened["message_id"]).message_id,
    )
    data = post_raw(client, intruder.as_bytes()).json()

    assert data["created"] is True
    assert data["ticket_id"] != ticket.pk
    assert ticket.messages.count() == 1


def test_reply_threads_by_the_subject_token(db, client):
    opened = post_raw(client, build_email().as_bytes()).json()
    ticket = Ticket.objects.get(pk=opened["ticket_id"])

    reply = build_email(subject=f"Re: Where are my shoes? [#{ticket.reference}]")

    assert post_raw(client, reply.as_bytes()).json()["ticket_id"] == ticket.pk


def test_a_reply_reopens_a_solved_ticket(db, client):
    first = build_email()
    opened = post_raw(client, first.as_bytes()).json()
    Ticket.objects.filter(pk=opened["ticket_id"]).update(status=Status.SOLVED)

    post_raw(client, build_email(in_reply_to=first["Message-ID"]).as_bytes())

    assert Ticket.objects.get(pk=opened["ticket_id"]).status == Status.OPEN


def test_a_repeat_delivery_returns_the_same_ticket_and_stores_nothing(db, client):
    raw = build_email().as_bytes()
    first = post_raw(client, raw).json()

    again = post_raw(client, raw)

    assert again.status_code == 202
    assert again.json()["ticket_id"] == first["ticket_id"]
    assert again.json()["message_id"] == first["message_id"]
    assert again.json()["duplicate"] is True
    assert InboundEmail.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_reused_message_id_with_other_content_is_a_new_message(db, client):
    message_id = make_msgid(domain="shop.example")
    first = post_raw(client, build_email(message_id=message_id, body="one").as_bytes()).json()

    second = post_raw(client, build_email(message_id=message_id, body="two").as_bytes()).json()

    assert second["message_id"] != first["message_id"]
    assert InboundEmail.objects.count() == 2
    assert sorted(Message.objects.values_list("body_text", flat=True)) == ["one", "two"]


def test_plain_and_html_parts_attachments_and_inline_images_are_stored(db, client):
    msg = build_email(body="Plain version")
    msg.add_alternative(
        '<p>HTML <b>version</b></p><img src="cid:logo123@shop.example">', subtype="html"
    )
    msg.get_payload()[1].add_related(
        PNG, maintype="image", subtype="png", cid="<logo123@shop.example>"
    )
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="r.pdf")
    # Declared as an image, but it is not one: typed by what it is, not what it claims.
    msg.add_attachment(b"<script>x</script>", maintype="image", subtype="png", filename="x.png")

    data = post_raw(client, msg.as_bytes()).json()

    message = Message.objects.get(pk=data["message_id"])
    assert message.body_text == "Plain version"
    assert "<b>version</b>" in message.body_html
    assert 'src="cid:logo123@shop.example"' in message.body_html
    files = {a.filename: a for a in Attachment.objects.filter(message=message)}
    assert set(files) == {"r.pdf", "x.png", "attachment.png"}
    assert files["attachment.png"].content_id == "logo123@shop.example"
    assert files["attachment.png"].content_type == "image/png"
    assert files["r.pdf"].content_type == "application/pdf"
    assert files["x.png"].content_type == "application/octet-stream"
    assert files["r.pdf"].file.read() == b"%PDF-1.4 fake"
    assert files["r.pdf"].size == len(b"%PDF-1.4 fake")


def test_nested_multiparts_are_walked(db, client):
    inner = build_email(body="Inner text")
    inner.add_alternative("<p>Inner html</p>", subtype="html")
    outer = build_email(body="Outer text")
    outer.make_mixed()
    outer.add_attachment(inner)  # a forwarded mail, as message/rfc822
    deep = EmailMessage()
    deep.set_content("deep text")
    deep.make_mixed()
    deep.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="d.bin")
    outer.attach(deep)

    data = post_raw(client, outer.as_bytes()).json()

    message = Message.objects.get(pk=data["message_id"])
    assert "Outer text" in message.body_text
    assert "deep text" in message.body_text
    assert "Inner text" not in message.body_text
    files = {a.filename: a for a in message.attachments.all()}
    assert set(files) == {"message.eml", "d.bin"}
    assert files["message.eml"].content_type == "message/rfc822"
    assert b"Inner text" in files["message.eml"].file.read()


AUTOMATIC_HEADERS = [
    ("Auto-Submitted", "auto-replied"),
    ("Precedence", "bulk"),
    ("Precedence", "junk"),
    ("Precedence", "list"),
    ("X-Autoreply", "yes"),
    ("X-Autorespond", "Out of office"),
    ("Return-Path", "<>"),
    ("List-Id", "Shoes fans <shoes.lists.example>"),
]


@pytest.mark.parametrize(("name", "value"), AUTOMATIC_HEADERS)
def test_automatic_mail_is_stored_but_never_reopens_or_answers(db, client, name, value):
    first = build_email()
    opened = post_raw(client, first.as_bytes()).json()
    Ticket.objects.filter(pk=opened["ticket_id"]).update(status=Status.SOLVED)

    auto = build_email(
        subject="Out of office", in_reply_to=first["Message-ID"], headers={name: value}
    )
    data = post_raw(client, auto.as_bytes()).json()

    assert data["ticket_id"] == opened["ticket_id"]
    assert Message.objects.get(pk=data["message_id"]).is_auto_reply is True
    assert Ticket.objects.get(pk=opened["ticket_id"]).status == Status.SOLVED
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example", "postmaster@mx.example"])
def test_bounces_from_mailer_daemon_are_recognised(db, client, sender):
    data = post_raw(client, build_email(sender=sender, subject="Undeliverable").as_bytes()).json()

    assert Message.objects.get(pk=data["message_id"]).is_auto_reply is True
    assert not OutboundEmail.objects.exists()


def test_our_own_mail_coming_back_is_never_answered(db, client):
    looped = build_email(
        sender="Alice at Supportdesk <support@support.example.com>",
        headers={"X-Supportdesk-Ticket": "abc123"},
    )

    data = post_raw(client, looped.as_bytes()).json()

    assert Message.objects.get(pk=data["message_id"]).is_auto_reply is True
    assert not OutboundEmail.objects.exists()


def test_the_webhook_is_in_the_openapi_schema(db, client):
    schema = client.get("/api/v1/openapi.json").json()

    operation = schema["paths"]["/api/v1/inbound/email"]["post"]
    assert "message/rfc822" in operation["requestBody"]["content"]
    assert "security" not in operation or operation["security"] in ([], [{}])


def test_a_delivery_status_report_is_recognised(db, client):
    report = (
        b"From: Mail System <mailer@mx.example>\r\n"
        b"To: support@support.example.com\r\n"
        b"Subject: Delivery failure\r\n"
        b"Message-ID: <report1@mx.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--b1--\r\n"
    )

    data = post_raw(client, report).json()

    message = Message.objects.get(pk=data["message_id"])
    assert message.is_auto_reply is True
    assert "Could not deliver." in message.body_text
    assert not OutboundEmail.objects.exists()


def test_ingest_email_command_files_a_message_from_stdin(db):
    raw = build_email().as_bytes()
    out = io.StringIO()

    call_command("ingest_email", stdin=io.BytesIO(raw), stdout=out)

    inbound = InboundEmail.objects.get()
    assert inbound.source == "pipe"
    assert inbound.status == InboundStatus.PROCESSED
    assert f"ticket {inbound.ticket_id}" in out.getvalue()


def test_ingest_email_command_fails_clearly_but_keeps_the_raw_mail(db):
    with pytest.raises(CommandError, match="not filed") as excinfo:
        call_command("ingest_email", stdin=io.BytesIO(b"this is not an email at all"))

    assert excinfo.value.returncode == 65
    inbound = InboundEmail.objects.get()
    assert inbound.status == InboundStatus.FAILED
    assert bytes(inbound.raw) == b"this is not an email at all"


def test_retry_inbound_files_a_failed_mail(db):
    # As if filing had failed on a transient error: the raw mail is fine and stored.
    raw = build_email().as_bytes()
    inbound = InboundEmail.objects.create(
        raw=raw, status=InboundStatus.FAILED, error="OperationalError", content_hash="x"
    )

    call_command("retry_inbound", "--id", str(inbound.pk), stdout=io.StringIO())

    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.error == ""
    assert inbound.ticket is not None
    assert inbound.attempts == 1


def test_retry_inbound_reports_mail_that_still_fails(db):
    failed = ingest_raw_email(b"garbage", source="webhook")
    assert failed.status == InboundStatus.FAILED

    with pytest.raises(CommandError, match="still failing"):
        call_command("retry_inbound", stdout=io.StringIO(), stderr=io.StringIO())

    assert InboundEmail.objects.get().attempts == 2


def test_admin_can_read_and_retry_a_failed_inbound_mail(db, cast):
    raw = build_email(subject="Needs review").as_bytes()
    inbound = InboundEmail.objects.create(
        raw=raw, status=InboundStatus.FAILED, error="boom", content_hash="y"
    )
    admin = Client()
    admin.force_login(cast.dave)

    page = admin.get(f"/admin/tickets/inboundemail/{inbound.pk}/change/")
    assert page.status_code == 200
    assert b"Needs review" in page.content
    assert admin.get("/admin/tickets/inboundemail/").status_code == 200

    response = admin.post(
        "/admin/tickets/inboundemail/",
        {"action": "retry", "_selected_action": [inbound.pk]},
    )

    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.ticket.subject == "Needs review"


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_file_the_mail_once(settings, tmp_path):
    raw = build_email().as_bytes()
    barrier = threading.Barrier(4)
    results = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(ingest_raw_email(raw, source="webhook"))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert {(r.ticket_id, r.message_id) for r in results} == {
        (results[0].ticket_id, results[0].message_id)
    }
    assert sum(not r.duplicate for r in results) == 1
    assert InboundEmail.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(author_type=AuthorType.CUSTOMER).count() == 1


def test_an_inline_base64_image_without_a_name_is_kept(db, client):
    raw = (
        b"From: pat@shop.example\r\nTo: support@support.example.com\r\nSubject: pic\r\n"
        b"Message-ID: <pic1@shop.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; boundary="r"\r\n\r\n'
        b'--r\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n<img src="cid:a1">\r\n'
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <a1>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(PNG)
        + b"\r\n--r--\r\n"
    )

    data = post_raw(client, raw).json()

    attachment = Attachment.objects.get(message_id=data["message_id"])
    assert attachment.content_id == "a1"
    assert attachment.content_type == "image/png"
    assert attachment.file.read() == PNG
