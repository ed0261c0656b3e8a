"""Outbound email rendered once, when its row is made: the bytes sent are those Django's
EmailMessage would make, and a resend after a crash is the same message byte for byte."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.core.mail.message import sanitize_address

from mailer.delivery import deliver_due
from mailer.models import OutboundEmail, OutboundStatus
from mailer.rendering import build_message, render_plain
from mailer.services import build_email, queue_email

DATE = re.compile(rb"^Date: [^\r\n]*\r\n", re.MULTILINE)
BOUNDARY = re.compile(rb"={15}\d+==")  # a multipart boundary is random on every render


def _same(a: bytes, b: bytes) -> bool:
    """Equal apart from the Date header and multipart boundaries."""
    return BOUNDARY.sub(b"", DATE.sub(b"", a)) == BOUNDARY.sub(b"", DATE.sub(b"", b))


PLAIN_CASES = [
    {
        "to": ["c1.plain-123@example.com"],
        "subject": "Re: Where are my shoes? [#ABC123]",
        "body_text": "Checked with the warehouse: it ships today.",
        "from_email": '"Fran Follow at Supportdesk" <support@support.example.com>',
        "reply_to": "support+ABC123@support.example.com",
        "in_reply_to": "<q1@shop.example>",
        "references": "<q1@shop.example>",
        "extra_headers": {"Auto-Submitted": "no", "X-Supportdesk-Ticket": "ABC123"},
    },
    {"to": ["a@b.example"], "subject": "Hello", "body_text": "line1\nline2\n\n-- \nsig\n"},
    {"to": ["a@b.example"], "subject": "ok", "body_text": "From me\n.dot at the start\n"},
    {"to": ["a@b.example"], "subject": "=?utf-8?q?x?=", "body_text": "t"},
    {"to": ["Bob Bee <bob@x.example>", "c@d.example"], "subject": "ok", "body_text": "t"},
    {"to": ["x@EXAMPLE.COM"], "subject": "ok: a, b; c", "body_text": "t\n", "from_email": "N <s@x.example>"},
]  # fmt: skip

DJANGO_CASES = [
    {"to": ["a@b.example"], "subject": "Héllo", "body_text": "x"},
    {"to": ["a@b.example"], "subject": "Two  spaces", "body_text": "x"},
    {"to": ["a@b.example"], "subject": "S" * 80, "body_text": "x"},
    {"to": ["a@b.example"], "subject": "ok", "body_text": "é"},
    {"to": ["a@b.example"], "subject": "ok", "body_text": "y" * 1000},
    {"to": ["a@b.example"], "subject": "ok", "body_text": "t", "body_html": "<p>t</p>"},
    {"to": ["a@b.example"], "subject": "ok", "body_text": "t",
     "references": " ".join(f"<ref{n}@shop.example>" for n in range(10))},
]  # fmt: skip


def _django_bytes(email: OutboundEmail) -> bytes:
    return build_message(email, None).message().as_bytes(linesep="\r\n")


@pytest.mark.parametrize("case", PLAIN_CASES)
def test_plain_emails_are_rendered_as_django_renders_them(case):
    email = build_email(**case)

    assert render_plain(email) is not None
    assert email.raw_message is not None
    assert _same(bytes(email.raw_message), _django_bytes(email))
    assert email.envelope_from == smtplib.quoteaddr(sanitize_address(email.from_email, "utf-8"))
    assert email.envelope_to == [
        smtplib.quoteaddr(sanitize_address(address, "utf-8")) for address in email.to
    ]


@pytest.mark.parametrize("case", DJANGO_CASES)
def test_anything_else_is_rendered_by_django(case):
    email = build_email(**case)

    assert render_plain(email) is None
    assert _same(bytes(email.raw_message), _django_bytes(email))


def test_an_address_django_refuses_is_left_to_fail_at_send_time(db, smtp_sink):
    email = queue_email(build_email(to=["not an address@@"], subject="x", body_text="y"))

    assert email.raw_message is None
    assert deliver_due() == 0
    email.refresh_from_db()
    assert email.status == OutboundStatus.QUEUED and email.attempts == 1


def test_the_stored_bytes_are_what_arrives_and_a_resend_is_identical(db, smtp_sink):
    email = queue_email(build_email(**PLAIN_CASES[0]))
    stored = bytes(OutboundEmail.objects.get(pk=email.pk).raw_message)

    assert deliver_due() == 1
    # A crash after the send and before the mark: the lease runs out and the row goes again.
    OutboundEmail.objects.filter(pk=email.pk).update(status=OutboundStatus.QUEUED)
    assert deliver_due() == 1

    first, second = smtp_sink.wait_for(2)
    assert first.as_bytes() == second.as_bytes()
    assert first["Message-ID"] == email.message_id
    assert first["Date"] == re.search(rb"^Date: ([^\r\n]*)", stored, re.MULTILINE)[1].decode()
    assert smtp_sink.envelopes[0] == ("support@support.example.com", ["c1.plain-123@example.com"])
