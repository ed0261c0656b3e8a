"""`manage.py fetch_mail --forever`: one IMAP IDLE connection per active mailbox, in a thread each.

Each worker logs in, fetches what is new (the same `fetch_new` as the sweep, under the same
per-mailbox lock), then waits in IDLE; when the server announces mail (EXISTS) it leaves IDLE and
fetches again on the same connection. IDLE is renewed every RENEW_SECONDS (servers drop it after
about 30 minutes). On any error the worker records `last_error`, closes the connection and
reconnects after a backoff (1 s doubling up to MAX_RECONNECT_SECONDS); a server without IDLE is
polled every POLL_SECONDS. A supervisor reloads the mailbox list every RELOAD_SECONDS: it starts
workers for new or resumed mailboxes, and stops (and restarts) those paused, removed or changed.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection

from mailboxes import fetch, imap
from mailboxes.models import Mailbox

log = logging.getLogger(__name__)

RENEW_SECONDS = 600
POLL_SECONDS = 30
RELOAD_SECONDS = 10
MAX_RECONNECT_SECONDS = 300
CHECK_SECONDS = 1.0  # how often an idle worker looks at its stop flag


def _fingerprint(mailbox: Mailbox) -> tuple[object, ...]:
    """What a worker's connection depends on: a change means reconnect."""
    return (
        mailbox.imap_host,
        mailbox.imap_port,
        mailbox.imap_security,
        mailbox.imap_username,
        mailbox.imap_auth,
        mailbox.imap_password_encrypted,
        mailbox.oauth_refresh_token_encrypted,
        mailbox.folder,
    )


class IdleWorker(threading.Thread):
    def __init__(self, mailbox_id: int) -> None:
        super().__init__(name=f"imap-idle-{mailbox_id}", daemon=True)
        self.mailbox_id = mailbox_id
        self.stop_event = threading.Event()
        self.fetches = 0

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        delay = 1.0
        try:
            while not self.stop_event.is_set():
                close_old_connections()
                mailbox = Mailbox.objects.filter(pk=self.mailbox_id, active=True).first()
                if mailbox is None:
                    return
                try:
                    self._session(mailbox)
                    delay = 1.0
                except Exception as exc:
                    fetch.record_failure(mailbox, exc)
                    self.stop_event.wait(delay)
                    delay = min(MAX_RECONNECT_SECONDS, delay * 2)
        finally:
            connection.close()

    def _fetch(self, client: imap.IMAPClient, mailbox: Mailbox) -> None:
        result = fetch.FetchResult(mailbox_id=mailbox.pk)
        # Wait for a sweep that is fetching this mailbox right now, then look for ourselves.
        with fetch.mailbox_lock(mailbox.pk, wait=60.0) as mine:
            if not mine:
                return  # still busy after a minute: it is fetching; the next EXISTS retries
            close_old_connections()
            fetch.fetch_new(client, mailbox, result)
        fetch.record_success(mailbox)
        self.fetches += 1
        if result.stored:
            log.info("Mailbox %s: %s new message(s)", mailbox.pk, result.stored)

    def _session(self, mailbox: Mailbox) -> None:
        client = imap.connect(mailbox)
        try:
            self._fetch(client, mailbox)
            can_idle = b"IDLE" in client.capabilities()
            while not self.stop_event.is_set():
                if not can_idle:
                    if self.stop_event.wait(POLL_SECONDS):
                        return
                    self._fetch(client, mailbox)
                    continue
                client.idle()
                renew_at = time.monotonic() + RENEW_SECONDS
                news = False
                while not self.stop_event.is_set() and time.monotonic() < renew_at:
                    responses = client.idle_check(timeout=CHECK_SECONDS)
                    if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                        news = True
                        break
                client.idle_done()
                if self.stop_event.is_set():
                    return
                if news:
                    self._fetch(client, mailbox)
                else:
                    client.noop()  # keeps the session alive between IDLE renewals
        finally:
            imap.close_quietly(client)


class Supervisor:
    """Keeps one IdleWorker per active mailbox, following the database."""

    def __init__(self) -> None:
        self.workers: dict[int, tuple[IdleWorker, tuple[object, ...]]] = {}
        self.stop_event = threading.Event()

    def reconcile(self) -> None:
        close_old_connections()
        wanted = {m.pk: _fingerprint(m) for m in Mailbox.objects.filter(active=True)}
        for mailbox_id, (worker, fingerprint) in list(self.workers.items()):
            gone = mailbox_id not in wanted or wanted[mailbox_id] != fingerprint
            if gone or not worker.is_alive():
                worker.stop()
                del self.workers[mailbox_id]
        for mailbox_id, fingerprint in wanted.items():
            if mailbox_id not in self.workers:
                worker = IdleWorker(mailbox_id)
                worker.start()
                self.workers[mailbox_id] = (worker, fingerprint)
                log.info("IMAP IDLE worker started for mailbox %s", mailbox_id)

    def run_forever(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    self.reconcile()
                except Exception:
                    log.exception("Could not reload the mailbox list; retrying")
                    connection.close()
                self.stop_event.wait(RELOAD_SECONDS)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        for worker, _ in self.workers.values():
            worker.stop()
        for worker, _ in self.workers.values():
            worker.join(timeout=CHECK_SECONDS * 5)
        self.workers.clear()
        connection.close()
