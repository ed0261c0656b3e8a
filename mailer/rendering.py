"""The bytes of an outgoing email, made once when its row is built (`render`) so that sending is
a plain SMTP exchange, and Django's message object for the cases the fast path leaves out."""

from __future__ import annotations

import functools
import logging
import re
import smtplib
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address

from mailer.models import OutboundEmail

log = logging.getLogger(__name__)


# --- rendering --------------------------------------------------------------------------------
# Each email is rendered to its final bytes once, when its row is made, and the delivery loop
# sends those bytes (bench/followups.py: building the MIME message with Django and the email
# package at every send, and re-parsing its addresses for the envelope, cost more CPU than the
# SMTP exchange). The common case (plain text, short printable-ASCII headers) is written directly,
# byte for byte what Django's EmailMessage makes (tests/tickets/test_outbound_email.py compares
# them); anything else goes through Django's renderer unchanged.

# One header value Django's renderer leaves exactly as it is: printable ASCII, single spaces, and
# (checked with the name) short enough that no folding happens.
_PLAIN_VALUE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")
_FOLD_AT = 78
# An address that Django's sanitize_address and smtplib's quoteaddr leave as it is.
_BARE_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z"
)
# Headers the plain path writes itself; an extra header with one of these names (which Django
# would treat specially) sends the email through Django's renderer.
_OWN_HEADERS = frozenset(
    {"content-type", "mime-version", "content-transfer-encoding", "subject", "from", "to", "cc",
     "reply-to", "date", "message-id", "in-reply-to", "references", "bcc"}
)  # fmt: skip
_BODY_LINE_LIMIT = 998  # RFC 5322; Django switches to quoted-printable beyond it


def render(email: OutboundEmail) -> None:
    """Fill `raw_message` and the envelope of an unsaved row. A message Django itself refuses to
    render (a bad address) is left unrendered, so sending fails and is retried as before."""
    try:
        raw = render_plain(email)
        if raw is None:
            message = build_message(email, None).message()
            raw = message.as_bytes(linesep="\r\n")  # type: ignore[call-arg]  # django-stubs: message() is the stdlib class, Django's SafeMIME* take linesep
            recipients = [_envelope(address) for address in email.to if address]
        else:
            recipients = [
                f"<{address}>" if _BARE_ADDRESS.match(address) else _envelope(address)
                for address in email.to
                if address
            ]
        sender = _envelope(email.from_email)
    except Exception:
        log.info("Email %s left to render at send time", email.message_id, exc_info=True)
        return
    email.raw_message = raw
    email.envelope_from = sender
    email.envelope_to = recipients


@functools.lru_cache(maxsize=1024)
def _envelope(address: str) -> str:
    """What Django's SMTP backend hands smtplib for `address`, as smtplib quotes it: the bare
    <addr-spec>. Cached: a sender's address is the same on thousands of emails."""
    return smtplib.quoteaddr(sanitize_address(address, settings.DEFAULT_CHARSET))


def render_plain(email: OutboundEmail) -> bytes | None:
    """The bytes Django's EmailMessage would make (linesep CRLF) for a plain-text email whose
    headers need no encoding or folding; None when that is not the case."""
    if email.body_html or email.attachments or settings.DEFAULT_CHARSET.lower() != "utf-8":
        return None
    body = email.body_text
    if not body.isascii() or "\r" in body:
        return None
    if any(len(line) > _BODY_LINE_LIMIT for line in body.split("\n")):
        return None
    headers: list[tuple[str, str]] = [
        ("Subject", email.subject),
        ("From", email.from_email),
        ("To", ", ".join(email.to)),
    ]
    if email.reply_to:
        headers.append(("Reply-To", email.reply_to))
    headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    headers.append(("Message-ID", email.message_id))
    for name, value in email.extra_headers.items():
        if name.lower() in _OWN_HEADERS or not re.fullmatch(r"[A-Za-z0-9-]+", name):
            return None
        headers.append((name, value))
    if email.in_reply_to:
        headers.append(("In-Reply-To", email.in_reply_to))
    if email.references:
        headers.append(("References", email.references))
    lines = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        "Content-Transfer-Encoding: 7bit",
    ]
    for name, value in headers:
        if len(name) + 2 + len(value) > _FOLD_AT or not _PLAIN_VALUE.match(value):
            return None
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("ascii")


def build_message(email: OutboundEmail, connection: object) -> EmailMultiAlternatives:
    headers = {"Message-ID": email.message_id, **email.extra_headers}
    if email.in_reply_to:
        headers["In-Reply-To"] = email.in_reply_to
    if email.references:
        headers["References"] = email.references
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=email.from_email,
        to=email.to,
        reply_to=[email.reply_to] if email.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    if email.attachments:
        from django.core.files.storage import default_storage

        for item in email.attachments:
            with default_storage.open(item["name"], "rb") as handle:
                content = handle.read()
            message.attach(item["filename"], content, item["content_type"])
    return message
