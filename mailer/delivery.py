"""Deliver queued mail in batches, one connection per SMTP server (the sweep's and the task's job).

Locking contract: `deliver_due` claims rows with SELECT ... FOR UPDATE SKIP LOCKED and a lease
(`claimed_until`), commits the claim, then sends and marks each row `sent` one at a time. Two
sweepers never claim the same row; a sweeper that dies leaves its rows to be reclaimed when the lease
ends, so only the messages in flight at a crash are ever sent twice, with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mailer.models import OutboundEmail, OutboundStatus
from mailer.rendering import build_message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH_SIZE = 25


def lease() -> timedelta:
    """How long a claimed row is ours (SUPPORTDESK_MAIL_LEASE_SECONDS, default 120). After a crash,
    rows in flight wait this long before another sweeper resends them; it must stay longer than a
    batch can take to send (BATCH_SIZE emails at EMAIL_TIMEOUT), or a slow batch is sent twice."""
    return timedelta(seconds=getattr(settings, "SUPPORTDESK_MAIL_LEASE_SECONDS", 120))


# At most one delivery task waits in the broker at a time: a burst of 10,000 emails (follow-ups
# due at once) used to enqueue 10,000 tasks, each draining the same rows, and the sweep that makes
# the next emails waited behind them in the queue (bench/followups.py). The task drains everything
# due, so one pending task covers every row committed before it starts.
KICK_KEY = "mailer:delivery-pending"
KICK_TTL = 60  # seconds; if the pending task is lost, the next email (or the sweep) recovers


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


MARK_SENT = (
    f"UPDATE {_TABLE} SET status = '{OutboundStatus.SENT.value}',"  # noqa: S608 (constants)
    " sent_at = %s, claimed_until = NULL, attempts = %s, last_error = '' WHERE id = %s"
)


def _reset(smtp: smtplib.SMTP) -> None:
    smtp._rset()  # type: ignore[attr-defined]  # smtplib's RSET that ignores a dropped link; private, not in typeshed


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
            _reset(smtp)
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
        _reset(smtp)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, resp = smtp.data(raw)
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            _reset(smtp)
        raise smtplib.SMTPDataError(code, resp)


def server_cursor() -> Any:
    """A psycopg cursor with server-side parameters on Django's connection (same transaction),
    which can use prepared statements (Django's cursors bind parameters client-side)."""
    import psycopg

    db.ensure_connection()
    return psycopg.Cursor(db.connection)


def _mark_sent(email: OutboundEmail) -> None:
    """One row `sent`, committed at once: a crash after this never resends this email. Plain SQL
    and, on Postgres, a prepared statement with server-side parameters (no ORM compile, no
    client-side quoting, no parse and plan on the server): it runs once per email."""
    params = (timezone.now(), email.attempts + 1, email.pk)
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
                    build_message(email, connection).send()
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
