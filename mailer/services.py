"""Queue mail durably and deliver it in batches over one SMTP connection.

Locking contract: `deliver_due` claims rows with SELECT ... FOR UPDATE SKIP LOCKED and a lease
(`claimed_until`), commits the claim, then sends and marks each row `sent` one at a time. Two
sweepers never claim the same row; a sweeper that dies leaves its rows to be reclaimed when the lease
ends, so only the messages in flight at a crash are ever sent twice, with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
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
) -> OutboundEmail:
    """An unsaved email row with every header made single-line; its Message-ID is fixed here, so a
    resend after a crash reuses it."""
    return OutboundEmail(
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
    )


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
    created = OutboundEmail.objects.bulk_create(emails, batch_size=500)
    transaction.on_commit(kick_delivery)
    return created


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
    return message


MARK_SENT = (
    f"UPDATE {OutboundEmail._meta.db_table} SET status = '{OutboundStatus.SENT.value}',"  # noqa: S608 (constants)
    " sent_at = %s, claimed_until = NULL, attempts = %s, last_error = '' WHERE id = %s"
)


def deliver_due(*, limit: int = BATCH_SIZE) -> int:
    """Send up to `limit` due emails over one connection; returns how many were sent."""
    rows = _claim(limit)
    if not rows:
        return 0
    sent = 0
    done: set[int] = set()
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        for email in rows:
            try:
                _build(email, connection).send()
            except Exception as exc:
                _record_failure(email, exc)
                done.add(email.pk)
                if _connection_broken(exc):
                    break
                continue
            # Marked one by one: a crash after this line never resends this email. Plain SQL:
            # compiling the ORM update per email cost more than the statement.
            with db.cursor() as cursor:
                cursor.execute(MARK_SENT, [timezone.now(), email.attempts + 1, email.pk])
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
