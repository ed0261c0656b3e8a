"""Queue mail durably and deliver it in batches over one SMTP connection.

Locking contract: `deliver_due` claims rows with SELECT ... FOR UPDATE SKIP LOCKED and a lease
(`claimed_until`), commits the claim, then sends and marks each row `sent` one at a time. Two
sweepers never claim the same row; a sweeper that dies leaves its rows to be reclaimed when the lease
ends, so only the messages in flight at a crash are ever sent twice, with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import secrets
import smtplib
from datetime import timedelta
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mailer.models import OutboundEmail, OutboundStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH_SIZE = 25


def lease() -> timedelta:
    """How long a claimed row is ours (SUPPORTDESK_MAIL_LEASE_SECONDS, default 120). After a crash,
    rows in flight wait this long before another sweeper resends them; it must stay longer than a
    batch can take to send (BATCH_SIZE emails at EMAIL_TIMEOUT), or a slow batch is sent twice."""
    return timedelta(seconds=getattr(settings, "SUPPORTDESK_MAIL_LEASE_SECONDS", 120))


def make_message_id() -> str:
    return (
        f"<{timezone.now():%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{settings.SUPPORTDESK_MAIL_DOMAIN}>"
    )


def single_line(value: str) -> str:
    """Header injection: a CR or LF in a subject or a name must never start a new header."""
    return " ".join(value.splitlines()).strip()


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
        raw = _render_plain(email)
        if raw is None:
            raw = _build(email, None).message().as_bytes(linesep="\r\n")
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


def _render_plain(email: OutboundEmail) -> bytes | None:
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


# At most one delivery task waits in the broker at a time: a burst of 10,000 emails (follow-ups
# due at once) used to enqueue 10,000 tasks, each draining the same rows, and the sweep that makes
# the next emails waited behind them in the queue (bench/followups.py). The task drains everything
# due, so one pending task covers every row committed before it starts.
KICK_KEY = "mailer:delivery-pending"
KICK_TTL = 60  # seconds; if the pending task is lost, the next email (or the sweep) recovers


def kick_delivery() -> None:
    from django.core.cache import cache

    from mailer.tasks import deliver_outbound

    try:
        pending = not cache.add(KICK_KEY, 1, timeout=KICK_TTL)
    except Exception:  # the cache is a hint; without it, enqueue as before
        pending = False
    if not pending:
        deliver_outbound.delay()


def _claim(limit: int) -> list[OutboundEmail]:
    now = timezone.now()
    if db.vendor == "postgresql":
        # One UPDATE: the subquery locks the rows and they are `sending` before anyone else can
        # see them. The planner is told to read them off outbound_due_order in order: right after
        # a burst (10,000 follow-ups queued in seconds) its statistics still say the queue is
        # nearly empty, and it fetched and sorted every due row for each claim of 25 (8 ms at
        # 5,000 due, 0.8 ms with the index; bench/followups.py).
        with transaction.atomic():
            with db.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('enable_bitmapscan', 'off', true),"
                    " set_config('enable_sort', 'off', true)"
                )
            return list(OutboundEmail.objects.raw(CLAIM, [now + lease(), now, now, limit]))
    with transaction.atomic():
        rows = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=OutboundStatus.QUEUED)
                | Q(status=OutboundStatus.SENDING, claimed_until__lt=now),
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "id")[:limit]
        )
        if rows:
            OutboundEmail.objects.filter(pk__in=[r.pk for r in rows]).update(
                status=OutboundStatus.SENDING, claimed_until=now + lease()
            )
    return rows


_TABLE = OutboundEmail._meta.db_table
CLAIM = (
    f"UPDATE {_TABLE} SET status = '{OutboundStatus.SENDING.value}', claimed_until = %s"  # noqa: S608 (constants)
    f" WHERE id IN (SELECT id FROM {_TABLE} WHERE (status = '{OutboundStatus.QUEUED.value}'"
    f" OR (status = '{OutboundStatus.SENDING.value}' AND claimed_until < %s))"
    " AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
    " RETURNING *"
)


def _build(email: OutboundEmail, connection: object) -> EmailMultiAlternatives:
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
        connection=connection,  # type: ignore[arg-type]
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


MARK_SENT = (
    f"UPDATE {_TABLE} SET status = '{OutboundStatus.SENT.value}',"  # noqa: S608 (constants)
    " sent_at = %s, claimed_until = NULL, attempts = %s, last_error = '' WHERE id = %s"
)


def _sendmail(smtp: smtplib.SMTP, sender: str, recipients: list[str], raw: bytes) -> None:
    """smtplib.SMTP.sendmail, command for command, for envelope addresses already quoted
    (`<addr-spec>`, see `_envelope`): sendmail re-parses every address with the email package,
    which cost more than the exchange itself on a fast relay."""
    smtp.ehlo_or_helo_if_needed()
    options = f" size={len(raw)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    smtp.putcmd("mail", f"FROM:{sender}{options}")
    code, resp = smtp.getreply()
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            smtp._rset()
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in recipients:
        smtp.putcmd("rcpt", f"TO:{recipient}")
        code, resp = smtp.getreply()
        if code not in (250, 251):
            refused[recipient] = (code, resp)
        if code == 421:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        smtp._rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, resp = smtp.data(raw)
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            smtp._rset()
        raise smtplib.SMTPDataError(code, resp)


def server_cursor() -> Any:
    """A psycopg cursor with server-side parameters on Django's connection (same transaction),
    which can use prepared statements (Django's cursors bind parameters client-side)."""
    import psycopg

    db.ensure_connection()
    return psycopg.Cursor(db.connection)  # type: ignore[arg-type]


def _mark_sent(email: OutboundEmail) -> None:
    """One row `sent`, committed at once: a crash after this never resends this email. Plain SQL
    and, on Postgres, a prepared statement with server-side parameters (no ORM compile, no
    client-side quoting, no parse and plan on the server): it runs once per email."""
    params = [timezone.now(), email.attempts + 1, email.pk]
    if db.vendor == "postgresql":
        with server_cursor() as cursor:  # the prepared statement lives on the connection
            cursor.execute(MARK_SENT, params, prepare=True)
        return
    with db.cursor() as cursor:
        cursor.execute(MARK_SENT, params)


def deliver_due(*, limit: int = BATCH_SIZE) -> int:
    """Send up to `limit` due emails, one connection per SMTP server they go through (the global
    one, or a mailbox's: `mailer.transports`); returns how many were sent."""
    rows = _claim(limit)
    if not rows:
        return 0
    by_transport: dict[str, list[OutboundEmail]] = {}
    for email in rows:
        by_transport.setdefault(email.transport or "", []).append(email)
    return sum(_deliver_rows(group, transport) for transport, group in by_transport.items())


def _deliver_rows(rows: list[OutboundEmail], transport: str) -> int:
    """Send claimed `rows` over one connection to `transport`'s server."""
    from mailer.transports import connection_for

    sent = 0
    done: set[int] = set()
    try:
        connection = connection_for(transport)
    except Exception as exc:  # a transport that cannot even be configured (an unreadable secret)
        for email in rows:
            _record_failure(email, exc)
        return 0
    try:
        connection.open()
        # The stored bytes go straight to smtplib (what Django's SMTP backend does after
        # rendering); other backends (the embedded outbox, tests) get Django's message object.
        smtp = connection.connection if isinstance(connection, SmtpBackend) else None
        for email in rows:
            try:
                if smtp is not None and email.raw_message is not None:
                    if email.envelope_to:
                        _sendmail(
                            smtp, email.envelope_from, email.envelope_to, bytes(email.raw_message)
                        )
                else:
                    _build(email, connection).send()
            except Exception as exc:
                _record_failure(email, exc)
                done.add(email.pk)
                if _connection_broken(exc):
                    break
                continue
            _mark_sent(email)  # one by one: only the email being sent is ever in doubt
            done.add(email.pk)
            sent += 1
    except Exception as exc:
        log.warning("SMTP connection failed: %s", exc)
        for email in rows:
            if email.pk not in done:
                _record_failure(email, exc)
                done.add(email.pk)
    finally:
        untouched = [email.pk for email in rows if email.pk not in done]
        if untouched:
            OutboundEmail.objects.filter(pk__in=untouched, status=OutboundStatus.SENDING).update(
                status=OutboundStatus.QUEUED, claimed_until=None
            )
        with contextlib.suppress(Exception):  # closing a dead connection is not an error to report
            connection.close()
    return sent


def _connection_broken(exc: Exception) -> bool:
    import smtplib

    return isinstance(
        exc, smtplib.SMTPServerDisconnected | ConnectionError | OSError
    ) and not isinstance(exc, smtplib.SMTPRecipientsRefused)


def _record_failure(email: OutboundEmail, exc: Exception) -> None:
    attempts = email.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    backoff = timedelta(seconds=min(3600, 15 * 2**attempts))
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundStatus.FAILED if give_up else OutboundStatus.QUEUED,
        attempts=attempts,
        next_attempt_at=timezone.now() + backoff,
        claimed_until=None,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )
    log.warning("Email %s failed (attempt %s): %s", email.message_id, attempts, exc)


def deliver_all_due(*, max_batches: int = 100) -> int:
    """Drain due mail in batches (the sweep's job); bounded so one sweep cannot run forever.

    A backlog is sent over several SMTP connections at once (`connections()` lanes, each a thread
    with its own claims, connection and database connection): delivery waits on round trips to
    the relay and the database, not on the CPU, so one lane leaves most of a worker idle.
    """
    from django.core.cache import cache

    # Cleared before claiming: an email committed from now on enqueues a new task of its own.
    with contextlib.suppress(Exception):
        cache.delete(KICK_KEY)
    sent = deliver_due()
    if sent < BATCH_SIZE:  # nothing more was due when we looked: no backlog, no lanes
        return sent
    lanes = connections()
    budget = max_batches * BATCH_SIZE - sent
    per_lane = max(1, budget // BATCH_SIZE // lanes)
    if lanes == 1:
        return sent + _drain(per_lane)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=lanes - 1, thread_name_prefix="mail-lane") as pool:
        futures = [pool.submit(_lane, per_lane) for _ in range(lanes - 1)]
        sent += _drain(per_lane)
        for future in futures:
            try:
                sent += future.result()
            except Exception:
                log.exception("A mail delivery lane failed; its rows are reclaimed after the lease")
    return sent


def connections() -> int:
    """Parallel SMTP connections for a backlog (SUPPORTDESK_MAIL_CONNECTIONS, default 4); one on
    SQLite, which serialises writers anyway."""
    if db.vendor == "sqlite":
        return 1
    return max(1, int(getattr(settings, "SUPPORTDESK_MAIL_CONNECTIONS", 4)))


def _drain(max_batches: int) -> int:
    total = 0
    for _ in range(max_batches):
        sent = deliver_due()
        total += sent
        if sent == 0:
            break
    return total


def _lane(max_batches: int) -> int:
    try:
        return _drain(max_batches)
    finally:
        db.close()  # the thread's own connection; the pool's thread may be reused


def retry_failed(email: OutboundEmail) -> None:
    OutboundEmail.objects.filter(pk=email.pk, status=OutboundStatus.FAILED).update(
        status=OutboundStatus.QUEUED, next_attempt_at=timezone.now(), attempts=0
    )
    from mailer.tasks import deliver_outbound

    transaction.on_commit(lambda: deliver_outbound.delay())
