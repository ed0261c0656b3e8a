"""Fetching mail from mailboxes into tickets.

For each message, in UID order: the raw bytes are stored and filed by the inbound pipeline
(`tickets.inbound.ingest_raw_email`, exactly as the webhook's: raw first, threaded, deduplicated by
Message-ID + content hash), the transaction commits, and only then is `\\Seen` set on the server;
the folder's last UID advances after that. Nothing is ever deleted or moved on the server.

Locking contract: one fetcher per mailbox at a time, across processes (a Postgres advisory lock on
the mailbox id, held for the whole fetch; a process-local lock on SQLite). A second fetcher (the
sweep while `fetch_mail --forever` is fetching, two workers) skips the mailbox or waits, and
should both ever fetch the same message (a crash between commit and the UID's advance, a
UIDVALIDITY change), the dedupe record files it once.

Failures: a mailbox that cannot be fetched records `last_error`, counts a failure and waits
(exponential backoff up to an hour) before the sweep tries it again; mailboxes are fetched side by
side with their own timeouts, so one bad mailbox never holds up the others or the rest of the
sweep. Memory stays flat with a backlog: UIDs are handled in batches of SUPPORTDESK_IMAP_BATCH
messages (and at most BATCH_BYTES), one batch in memory at a time. A message over
SUPPORTDESK_MAX_INBOUND_BYTES is stored raw but not filed (an inbound row marked failed that an
admin can read and retry), flagged `\\Flagged` on the server, and never holds up the rest.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.imapclient import FLAGGED, SEEN

from mailboxes import imap
from mailboxes.models import Mailbox, MailboxFolder
from tickets.inbound import ingest_raw_email, keep_unfiled

log = logging.getLogger(__name__)

BATCH_BYTES = 16 * 1024 * 1024
SIZE_CHUNK = 1000  # UIDs per RFC822.SIZE fetch
MAX_BACKOFF = 3600
# pg_try_advisory_lock(classid, objid): "MBOX" and the mailbox id.
_LOCK_CLASS = 0x4D424F58
_local_locks: dict[int, threading.Lock] = {}
_local_guard = threading.Lock()


@dataclass
class FetchResult:
    mailbox_id: int
    stored: int = 0  # new inbound rows
    duplicates: int = 0  # fetched again, already stored (filed once)
    unfiled: int = 0  # kept raw without a ticket (over the size limit, unparseable)
    more: bool = False  # stopped at the limit; the rest next time
    error: str = ""
    skipped: str = ""  # "busy" (another fetcher has it), "backoff", "paused"


@contextlib.contextmanager
def mailbox_lock(mailbox_id: int, *, wait: float = 0.0) -> Iterator[bool]:
    """Whether this fetcher holds mailbox `mailbox_id` (waiting up to `wait` seconds)."""
    deadline = time.monotonic() + wait
    if connection.vendor == "postgresql":
        got = False
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, mailbox_id])
                got = bool(cursor.fetchone()[0])
            if got or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(Exception), connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, mailbox_id])
        return
    with _local_guard:
        lock = _local_locks.setdefault(mailbox_id, threading.Lock())
    got = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


def fetch_mailbox(
    mailbox_id: int, *, limit: int | None = None, max_seconds: float | None = None
) -> FetchResult:
    """Connect, fetch what is new (at most `limit` messages), record the outcome."""
    result = FetchResult(mailbox_id=mailbox_id)
    with mailbox_lock(mailbox_id) as mine:
        if not mine:
            result.skipped = "busy"
            return result
        mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
        if mailbox is None or not mailbox.active:
            result.skipped = "paused"
            return result
        client: IMAPClient | None = None
        try:
            client = imap.connect(mailbox)
            fetch_new(client, mailbox, result, limit=limit, max_seconds=max_seconds)
        except Exception as exc:
            record_failure(mailbox, exc, result)
            return result
        finally:
            if client is not None:
                imap.close_quietly(client)
        record_success(mailbox)
    return result


def fetch_new(
    client: IMAPClient,
    mailbox: Mailbox,
    result: FetchResult,
    *,
    limit: int | None = None,
    max_seconds: float | None = None,
) -> None:
    """Fetch the folder's messages above the last UID handled, batch by batch. The caller holds
    the mailbox's lock. Raises on connection and database errors (what is committed stays)."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    info = client.select_folder(mailbox.folder)
    uidvalidity = int(info.get(b"UIDVALIDITY", 0) or 0)
    state, _ = MailboxFolder.objects.get_or_create(mailbox=mailbox, name=mailbox.folder)
    if state.uidvalidity != uidvalidity:
        if state.uidvalidity is not None:
            # The server renumbered the folder: every UID we know is meaningless. Fetch it all
            # again; the dedupe record (Message-ID + content hash) files each message once.
            log.warning(
                "Mailbox %s folder %s: UIDVALIDITY changed %s -> %s; fetching it again",
                mailbox.pk,
                mailbox.folder,
                state.uidvalidity,
                uidvalidity,
            )
        state.uidvalidity = uidvalidity
        state.last_uid = 0
        state.updated_at = timezone.now()
        state.save(update_fields=["uidvalidity", "last_uid", "updated_at"])
    # "N:*" always matches the highest UID, even below N: filter.
    uids = sorted(
        u for u in client.search(["UID", f"{state.last_uid + 1}:*"]) if u > state.last_uid
    )
    if limit is not None and len(uids) > limit:
        uids, result.more = uids[:limit], True
    for start in range(0, len(uids), SIZE_CHUNK):
        chunk = uids[start : start + SIZE_CHUNK]
        sizes = {
            uid: int(data.get(b"RFC822.SIZE", 0))
            for uid, data in client.fetch(chunk, ["RFC822.SIZE"]).items()
        }
        for batch, oversize in _batches(chunk, sizes):
            if deadline is not None and time.monotonic() > deadline:
                result.more = True
                return
            _fetch_batch(client, mailbox, state, batch, oversize=oversize, result=result)


def _batches(uids: list[int], sizes: dict[int, int]) -> Iterator[tuple[list[int], bool]]:
    """UIDs in order, in batches bounded by count and bytes; an oversize message alone."""
    limit = settings.SUPPORTDESK_MAX_INBOUND_BYTES
    count = max(1, settings.SUPPORTDESK_IMAP_BATCH)
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if size > limit:
            if batch:
                yield batch, False
                batch, total = [], 0
            yield [uid], True
            continue
        if batch and (len(batch) >= count or total + size > BATCH_BYTES):
            yield batch, False
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch, False


def _fetch_batch(
    client: IMAPClient,
    mailbox: Mailbox,
    state: MailboxFolder,
    uids: list[int],
    *,
    oversize: bool,
    result: FetchResult,
) -> None:
    data = client.fetch(uids, ["BODY.PEEK[]"])
    seen: list[int] = []
    flagged: list[int] = []
    stored = 0
    for uid in uids:
        item = data.pop(uid, None)
        if item is None:  # expunged by someone else since the search
            continue
        raw = bytes(item.get(b"BODY[]") or b"")
        if oversize:
            limit = settings.SUPPORTDESK_MAX_INBOUND_BYTES
            outcome = keep_unfiled(
                raw,
                source="imap",
                mailbox_id=mailbox.pk,
                error=(
                    f"Over the size limit ({len(raw):,} bytes > {limit:,}): kept raw, not filed; "
                    f"left flagged on the server ({mailbox.address}, {mailbox.folder}, UID {uid})."
                ),
            )
        else:
            outcome = ingest_raw_email(raw, source="imap", mailbox_id=mailbox.pk)
        del raw, item
        if outcome.duplicate:
            result.duplicates += 1
        else:
            stored += 1
        if outcome.ticket_id is not None:
            seen.append(uid)  # the ticket is committed: now the server may call it read
        else:
            flagged.append(uid)  # stored raw for an admin; left unread and flagged
            result.unfiled += 0 if outcome.duplicate else 1
    del data
    # Parsed mail and model instances form reference cycles; free this batch's before the next
    # (a young-generation collection is cheap), so a backlog's peak memory is one batch's, not
    # however many batches the collector's own schedule lets pile up.
    gc.collect(1)
    if seen:
        client.add_flags(seen, [SEEN], silent=True)
    if flagged:
        client.add_flags(flagged, [FLAGGED], silent=True)
    result.stored += stored
    state.last_uid = max(uids)
    state.updated_at = timezone.now()
    state.save(update_fields=["last_uid", "updated_at"])
    if stored:
        Mailbox.objects.filter(pk=mailbox.pk).update(fetched=F("fetched") + stored)


def backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF, 15 * 2 ** max(0, failures - 1)))


def record_failure(mailbox: Mailbox, exc: BaseException, result: FetchResult | None = None) -> str:
    error = str(imap.describe(exc, where=f"{mailbox.imap_host}:{mailbox.imap_port}"))
    failures = mailbox.failures + 1
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_fetch_at=now,
        last_error=error[:2000],
        failures=F("failures") + 1,
        next_try_at=now + backoff(failures),
    )
    mailbox.failures = failures
    log.warning("Mailbox %s (%s) failed: %s", mailbox.pk, mailbox.address, error)
    if result is not None:
        result.error = error
    return error


def record_success(mailbox: Mailbox) -> None:
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_fetch_at=now, last_success_at=now, last_error="", failures=0, next_try_at=None
    )


def due_mailbox_ids() -> list[int]:
    """Active mailboxes not waiting out a backoff."""
    now = timezone.now()
    return list(
        Mailbox.objects.filter(active=True)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .order_by("id")
        .values_list("id", flat=True)
    )


def _fetch_in_thread(mailbox_id: int, limit: int | None, max_seconds: float | None) -> FetchResult:
    close_old_connections()
    try:
        return fetch_mailbox(mailbox_id, limit=limit, max_seconds=max_seconds)
    except Exception as exc:  # the database itself failed: reported, the others go on
        log.exception("Fetching mailbox %s failed", mailbox_id)
        return FetchResult(mailbox_id=mailbox_id, error=f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def fetch_all(
    *, limit: int | None = None, max_seconds: float | None = None, parallel: int = 4
) -> list[FetchResult]:
    """Fetch every due mailbox once, side by side (each with its own connection, timeout and
    database connection); one mailbox's failure or slowness never stops the others."""
    ids = due_mailbox_ids()
    if not ids:
        return []
    if connection.vendor == "sqlite" or parallel <= 1 or len(ids) == 1:
        results = []
        for mailbox_id in ids:
            try:
                results.append(fetch_mailbox(mailbox_id, limit=limit, max_seconds=max_seconds))
            except Exception as exc:
                log.exception("Fetching mailbox %s failed", mailbox_id)
                results.append(FetchResult(mailbox_id=mailbox_id, error=str(exc)))
        return results
    with ThreadPoolExecutor(
        max_workers=min(parallel, len(ids)), thread_name_prefix="mailbox-fetch"
    ) as pool:
        futures = [pool.submit(_fetch_in_thread, i, limit, max_seconds) for i in ids]
        return [future.result() for future in futures]
