"""Queue mail durably: build an email row (rendered once, `mailer.rendering`), store it with
the change that causes it, and start delivery after commit (`mailer.delivery` sends it, from the
task or the sweep)."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from core.emails import single_line
from mailer.delivery import KICK_KEY, KICK_TTL
from mailer.models import OutboundEmail, OutboundStatus
from mailer.rendering import render
from mailer.tasks import deliver_outbound

log = logging.getLogger(__name__)


def make_message_id() -> str:
    return (
        f"<{timezone.now():%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{settings.SUPPORTDESK_MAIL_DOMAIN}>"
    )


def build_email(
    *,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str = "",
    from_email: str | None = None,
    reply_to: str = "",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    extra_headers: dict[str, str] | None = None,
    ticket_id: int | None = None,
    ticket_message_id: int | None = None,
    transport: str = "",
    attachments: list[dict[str, str]] | None = None,
) -> OutboundEmail:
    """An unsaved email row with every header made single-line; its Message-ID is fixed here, so a
    resend after a crash reuses it. `attachments`: stored files to carry as MIME parts
    ({"name": storage name, "filename", "content_type"}), read once when the row is rendered, so
    the row's bytes hold them and a resend carries the same files."""
    email = OutboundEmail(
        to=[single_line(address) for address in to],
        from_email=single_line(from_email or settings.DEFAULT_FROM_EMAIL),
        reply_to=single_line(reply_to),
        subject=single_line(subject)[:998],
        body_text=body_text,
        body_html=body_html,
        message_id=message_id or make_message_id(),
        in_reply_to=single_line(in_reply_to),
        references=single_line(references),
        extra_headers={single_line(k): single_line(v) for k, v in (extra_headers or {}).items()},
        ticket_id=ticket_id,
        ticket_message_id=ticket_message_id,
        transport=transport,
        attachments=[
            {
                "name": str(a["name"]),
                "filename": single_line(str(a["filename"])),
                "content_type": str(a["content_type"]),
            }
            for a in attachments or []
        ],
    )
    render(email)
    return email


def queue_email(email: OutboundEmail) -> OutboundEmail:
    """Store one `build_email` row; a delivery task is started once the surrounding transaction
    commits."""
    email.save(force_insert=True)
    transaction.on_commit(kick_delivery)
    return email


def queue_emails(emails: list[OutboundEmail]) -> list[OutboundEmail]:
    """Store many `build_email` rows in one statement, with one delivery kick after commit."""
    if not emails:
        return []
    if db.vendor == "postgresql":
        _insert_json(emails)
    else:
        OutboundEmail.objects.bulk_create(emails, batch_size=500)
    transaction.on_commit(kick_delivery)
    return emails


# Every column of a new row, read from one JSON document: bulk_create spent more time preparing
# values field by field (and quoting 20 placeholders per row) than Postgres spent inserting them,
# and psycopg's text arrays escape every element with a regex (a batch of 500 follow-ups,
# bench/followups.py); json.dumps does it in C. A new NOT NULL column must be added here.
_INSERT_EMAILS = (
    f"INSERT INTO {OutboundEmail._meta.db_table} ("  # noqa: S608 (a model's table name)
    '"to", from_email, reply_to, subject, body_text, body_html, message_id, in_reply_to,'
    ' "references", extra_headers, attachments, raw_message, envelope_from, envelope_to, status,'
    " attempts, next_attempt_at, last_error, created_at, ticket_id, ticket_message_id, transport)"
    ' SELECT v."to", v.from_email, v.reply_to, v.subject, v.body_text, v.body_html,'
    ' v.message_id, v.in_reply_to, v."references", v.extra_headers, v.attachments,'
    " decode(v.raw_message, 'base64'), v.envelope_from, v.envelope_to, v.status, v.attempts,"
    " v.next_attempt_at, v.last_error, v.created_at, v.ticket_id, v.ticket_message_id,"
    " v.transport"
    ' FROM json_to_recordset(%s::json) AS v("to" jsonb, from_email text, reply_to text,'
    " subject text, body_text text, body_html text, message_id text, in_reply_to text,"
    ' "references" text, extra_headers jsonb, attachments jsonb, raw_message text,'
    " envelope_from text,"
    " envelope_to jsonb, status text, attempts integer, next_attempt_at timestamptz,"
    " last_error text, created_at timestamptz, ticket_id bigint, ticket_message_id bigint,"
    " transport text)"
    " RETURNING id, message_id"
)


def _insert_json(emails: list[OutboundEmail]) -> None:
    import base64
    import json

    document = json.dumps(
        [
            {
                "to": e.to,
                "from_email": e.from_email,
                "reply_to": e.reply_to,
                "subject": e.subject,
                "body_text": e.body_text,
                "body_html": e.body_html,
                "message_id": e.message_id,
                "in_reply_to": e.in_reply_to,
                "references": e.references,
                "extra_headers": e.extra_headers,
                "attachments": e.attachments,
                "raw_message": None
                if e.raw_message is None
                else base64.b64encode(e.raw_message).decode("ascii"),
                "envelope_from": e.envelope_from,
                "envelope_to": e.envelope_to,
                "status": str(e.status),
                "attempts": e.attempts,
                "next_attempt_at": e.next_attempt_at.isoformat(),
                "last_error": e.last_error,
                "created_at": e.created_at.isoformat(),
                "ticket_id": e.ticket_id,
                "ticket_message_id": e.ticket_message_id,
                "transport": e.transport,
            }
            for e in emails
        ]
    )
    with db.cursor() as cursor:
        cursor.execute(_INSERT_EMAILS, [document])
        ids = {message_id: pk for pk, message_id in cursor.fetchall()}
    for email in emails:
        email.pk = ids[email.message_id]
        email._state.adding = False
        email._state.db = db.alias


def kick_delivery() -> None:
    from django.core.cache import cache

    try:
        pending = not cache.add(KICK_KEY, 1, timeout=KICK_TTL)
    except Exception:  # the cache is a hint; without it, enqueue as before
        pending = False
    if not pending:
        deliver_outbound.delay()


def retry_failed(email: OutboundEmail) -> None:
    OutboundEmail.objects.filter(pk=email.pk, status=OutboundStatus.FAILED).update(
        status=OutboundStatus.QUEUED, next_attempt_at=timezone.now(), attempts=0
    )
    transaction.on_commit(lambda: deliver_outbound.delay())
