"""Outgoing webhooks: subscribe, record events in the outbox, deliver them safely.

- `record_event(...)` runs inside the transaction of the change (called from the domain hooks in
  webhooks/subscriptions.py): one `Event` row and one `Delivery` per subscribed webhook, so an
  event exists exactly when its change committed.
- `deliver_due()` (the sweep and the `webhooks.deliver` Celery task) claims due deliveries with
  SKIP LOCKED and a lease, oldest first, never one whose object has an earlier delivery still
  pending for the same webhook (per-object order), and posts them over `LANES` kept-alive
  connections per webhook (an object's events always in one lane, in order), recording outcomes
  in groups of `RECORD_EVERY` (one transaction each): `POST {id, type, created_at, data}`,
  signed `X-Supportdesk-Signature: sha256=<hex HMAC of the body>`, `X-Supportdesk-Event-Id` the same on every retry. A non-2xx,
  a timeout or a refused connection is retried with exponential backoff and jitter; after
  `SUPPORTDESK_WEBHOOK_DISABLE_DAYS` of nothing but failures the webhook is disabled and admins
  are emailed. Redirects are never followed; answers are read up to a size cap.
- SSRF: the URL's host is resolved once and every address must be public unless
  `SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE`; the connection goes to the checked address (no second
  lookup a rebinding DNS could answer differently).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import queue
import random
import socket
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from audit.services import record
from webhooks.models import Attempt, Delivery, DeliveryStatus, Event, Kind, Webhook

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "message.created",
    "chat.started",
    "chat.ended",
    "grant.created",
    "grant.executed",
    "csat.rated",
    "story.nominated",
)
BATCH = 200
LEASE = timedelta(seconds=60)
BACKOFF_CAP = 3600.0


class WebhookError(ValueError):
    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


# --- subscriptions ---------------------------------------------------------------------------------


def check_url(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses) of a webhook URL, or WebhookError: http(s) only, a host
    that resolves, and only public addresses unless SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookError("Webhook URLs must be http or https", code="bad_scheme")
    if not parts.hostname:
        raise WebhookError("The URL has no host", code="bad_url")
    if parts.username or parts.password:
        raise WebhookError("Put no credentials in the URL; use the secret", code="bad_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise WebhookError(f"The host does not resolve: {exc}", code="unresolvable") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise WebhookError(
                    f"{parts.hostname} is a private, loopback or reserved address ({ip})",
                    code="private_address",
                )
    return parts.scheme, parts.hostname, port, addresses


def create_webhook(
    *, url: str, events: list[str], secret: str, kind: str = Kind.GENERIC, by: User | None
) -> Webhook:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(
            f"Unknown event types: {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}",
            code="unknown_event",
        )
    if kind not in Kind.values:
        raise WebhookError(f"Unknown kind {kind!r}", code="invalid_kind")
    check_url(url)
    with transaction.atomic():
        webhook = Webhook.objects.create(
            url=url, events=list(dict.fromkeys(events)), secret=secret, kind=kind, created_by=by
        )
        record(
            "webhook.created",
            obj=webhook,
            actor=by,
            detail={"url": url, "events": webhook.events, "kind": kind},
        )
    return webhook


# --- the outbox ------------------------------------------------------------------------------------


def record_event(*, type: str, object_key: str, data: dict[str, Any]) -> Event | None:
    """Write the event and its deliveries in the caller's transaction; start delivery after
    commit. None when no active webhook wants this type."""
    from webhooks.slack import worth_telling

    hooks = [
        w
        for w in Webhook.objects.filter(active=True)
        if w.wants(type) and (w.kind != Kind.SLACK or worth_telling(type, data))
    ]
    if not hooks:
        return None
    event = Event.objects.create(
        type=type, object_key=object_key, data=json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    )
    Delivery.objects.bulk_create(
        Delivery(webhook=w, event=event, object_key=object_key) for w in hooks
    )
    transaction.on_commit(_kick, robust=True)
    return event


def _call_helper() -> None:
    """A backlog: queue one more delivery task (at most one a second), so another worker process
    claims its own batches alongside this one (SKIP LOCKED; per-object order still holds, as a
    later event is never claimed while an earlier one of its object is pending)."""
    from django.core.cache import cache

    from webhooks.tasks import deliver

    if deliver.app.conf.task_always_eager:
        return
    try:
        if cache.add("webhooks:helper", 1, timeout=1):
            deliver.delay()
    except Exception:
        log.warning("Could not queue a helper delivery task", exc_info=True)


def _kick() -> None:
    from webhooks.tasks import deliver

    try:
        deliver.delay()
    except Exception:  # the sweep delivers them
        log.warning("Could not queue webhook delivery; the sweep will", exc_info=True)


# --- delivery --------------------------------------------------------------------------------------


def body_of(event: Event, kind: str) -> bytes:
    if kind == Kind.SLACK:
        from webhooks.slack import text_for

        return json.dumps({"text": text_for(event)}).encode()
    payload = {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter in [0.5, 1.5) of the step: retries of many receivers spread."""
    base = float(settings.SUPPORTDESK_WEBHOOK_BACKOFF_SECONDS)
    step = min(base * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return timedelta(seconds=step * (0.5 + random.random()))


def _claim(limit: int) -> list[Delivery]:
    now = timezone.now()
    earlier = Delivery.objects.filter(
        webhook=OuterRef("webhook"),
        object_key=OuterRef("object_key"),
        status=DeliveryStatus.PENDING,
        id__lt=OuterRef("id"),
    )
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, webhook__active=True)
            .exclude(Exists(earlier))
            .select_related("event", "webhook")
            .order_by("next_attempt_at", "id")[:limit]
        )
        if rows:
            Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


@dataclass
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    at: datetime = field(default_factory=timezone.now)  # when the answer (or failure) came

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Sender:
    """One kept-alive connection pool per webhook for a batch, to the checked address."""

    def __init__(self, webhook: Webhook) -> None:
        self.webhook = webhook
        self.pool: urllib3.HTTPConnectionPool | None = None
        self.error = ""
        try:
            scheme, host, port, addresses = check_url(webhook.url)
        except WebhookError as exc:
            self.error = str(exc)
            return
        timeout = urllib3.Timeout(
            connect=settings.SUPPORTDESK_WEBHOOK_TIMEOUT, read=settings.SUPPORTDESK_WEBHOOK_TIMEOUT
        )
        options: dict[str, Any] = {
            "timeout": timeout,
            "retries": False,
            "maxsize": LANES,
            "block": True,
        }
        if scheme == "https":
            self.pool = urllib3.HTTPSConnectionPool(
                addresses[0], port, server_hostname=host, assert_hostname=host, **options
            )
        else:
            self.pool = urllib3.HTTPConnectionPool(addresses[0], port, **options)
        parts = urlsplit(webhook.url)
        self.host_header = parts.netloc.rpartition("@")[2]
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def send(self, delivery: Delivery) -> Outcome:
        if self.pool is None:
            return Outcome(None, self.error, 0)
        body = body_of(delivery.event, self.webhook.kind)
        headers = {
            "Host": self.host_header,
            "Content-Type": "application/json",
            "User-Agent": "Supportdesk-Webhooks/1",
            "X-Supportdesk-Event-Id": str(delivery.event_id),
            "X-Supportdesk-Event": delivery.event.type,
            "X-Supportdesk-Signature": signature(body, self.webhook.secret),
        }
        started = time.monotonic()
        try:
            response = self.pool.urlopen(
                "POST",
                self.path,
                body=body,
                headers=headers,
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                # Read at most the cap: a receiver answering gigabytes costs us nothing more (the
                # connection is dropped instead of drained; the pool opens a new one).
                cap = settings.SUPPORTDESK_WEBHOOK_MAX_RESPONSE_BYTES
                if len(response.read(cap + 1)) > cap:
                    response.close()
            finally:
                response.release_conn()
            code: int | None = response.status
            error = "" if 200 <= response.status < 300 else f"HTTP {response.status}"
            if 300 <= response.status < 400:
                error = f"HTTP {response.status}: redirects are not followed"
        except urllib3.exceptions.HTTPError as exc:
            code, error = None, f"{type(exc).__name__}: {exc}"[:500]
        return Outcome(code, error, int((time.monotonic() - started) * 1000))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def deliver_due(*, limit: int = 2000) -> int:
    """Deliver what is due, in claimed batches; returns how many were delivered (2xx). A backlog
    (a full first batch) calls a helper task for the other worker processes, and a call stopped
    by `limit` with more due queues the next task, so a backlog drains without waiting for the
    sweep's next tick."""
    delivered = 0
    handled = 0
    senders: dict[int, _Sender] = {}
    try:
        while handled < limit:
            batch = _claim(min(BATCH, limit - handled))
            if not batch:
                break
            if handled == 0 and len(batch) == BATCH:
                _call_helper()
            handled += len(batch)
            delivered += _send_batch(batch, senders)
    finally:
        for sender in senders.values():
            sender.close()
    if handled >= limit:
        _kick()
    disable_failing()
    return delivered


# Outcomes are written every this many sends (and at the end of a batch): a crash resends at most
# these, with the same event ids (at least once), while the log costs a few statements per group
# instead of three per delivery.
RECORD_EVERY = 50
# Connections per webhook working one batch at once; an object's events always share one lane, in
# order, so per-object order holds while a slow answer holds up only its own lane.
LANES = 4


def _lane_of(delivery: Delivery) -> tuple[int, int]:
    return delivery.webhook_id, zlib.crc32(delivery.object_key.encode()) % LANES


def _send_batch(batch: list[Delivery], senders: dict[int, _Sender] | None = None) -> int:
    """Send one claimed batch over each webhook's kept-alive connections (`senders`, kept by the
    caller across batches), `LANES` at a time per webhook, recording outcomes in groups (in this
    thread: the lanes only talk HTTP)."""
    own = senders is None
    senders = {} if senders is None else senders
    lanes: dict[tuple[int, int], list[Delivery]] = {}
    for delivery in batch:
        sender = senders.get(delivery.webhook_id)
        if sender is None or sender.webhook.url != delivery.webhook.url:
            if sender is not None:
                sender.close()
            senders[delivery.webhook_id] = _Sender(delivery.webhook)
        lanes.setdefault(_lane_of(delivery), []).append(delivery)
    results: queue.SimpleQueue[tuple[Delivery, Outcome | None]] = queue.SimpleQueue()

    def work(lane: list[Delivery]) -> None:
        blocked: set[str] = set()
        for delivery in lane:
            if delivery.object_key in blocked:
                # An earlier event of this object failed in this batch: keep the order.
                results.put((delivery, None))
                continue
            try:
                outcome = senders[delivery.webhook_id].send(delivery)
            except Exception as exc:  # never leave the batch waiting for this lane
                log.exception("Webhook delivery %s failed", delivery.pk)
                outcome = Outcome(None, f"{type(exc).__name__}: {exc}"[:500], 0)
            if not outcome.ok:
                blocked.add(delivery.object_key)
            results.put((delivery, outcome))

    done: list[tuple[Delivery, Outcome]] = []
    released: list[int] = []
    delivered = 0
    try:
        if len(lanes) == 1:
            work(batch)
            pool = None
        else:
            pool = ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="webhook")
            for lane in lanes.values():
                pool.submit(work, lane)
        for _ in batch:
            delivery, outcome = results.get()
            if outcome is None:
                released.append(delivery.pk)
                continue
            done.append((delivery, outcome))
            delivered += outcome.ok
            if len(done) >= RECORD_EVERY:
                _record_all(done, released)
                done, released = [], []
        _record_all(done, released)
        if pool is not None:
            pool.shutdown()
    finally:
        if own:
            for sender in senders.values():
                sender.close()
    return delivered


_RECORD_DELIVERIES = """
    UPDATE webhooks_delivery AS d SET
        attempts = d.attempts + 1,
        last_status_code = v.code,
        last_error = v.error,
        last_duration_ms = v.duration,
        status = CASE WHEN v.ok THEN %s ELSE d.status END,
        delivered_at = CASE WHEN v.ok THEN v.at ELSE d.delivered_at END,
        next_attempt_at = CASE WHEN v.ok THEN d.next_attempt_at ELSE v.next_at END
    FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::int[], %s::bool[], %s::timestamptz[],
                %s::timestamptz[]) AS v(id, code, error, duration, ok, at, next_at)
    WHERE d.id = v.id
"""


def _record_all(done: list[tuple[Delivery, Outcome]], released: list[int]) -> None:
    """Write a group of outcomes in one transaction: every attempt (one INSERT), every delivery
    (one UPDATE over arrays: delivered, or its next attempt with backoff), each webhook's
    `failing_since` after its last outcome, and the lease of deliveries held back for order."""
    from django.db import connection

    if not done and not released:
        return
    now = timezone.now()
    with transaction.atomic():
        if done:
            Attempt.objects.bulk_create(
                Attempt(
                    delivery_id=d.pk,
                    at=o.at,
                    status_code=o.status_code,
                    duration_ms=o.duration_ms,
                    error=o.error[:500],
                )
                for d, o in done
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    _RECORD_DELIVERIES,
                    [
                        DeliveryStatus.DELIVERED,
                        [d.pk for d, _ in done],
                        [o.status_code for _, o in done],
                        [o.error[:500] for _, o in done],
                        [o.duration_ms for _, o in done],
                        [o.ok for _, o in done],
                        [o.at for _, o in done],
                        [None if o.ok else o.at + backoff(d.attempts + 1) for d, o in done],
                    ],
                )
            last: dict[int, bool] = {}
            for d, o in done:
                last[d.webhook_id] = o.ok
            recovered = [w for w, ok in last.items() if ok]
            failing = [w for w, ok in last.items() if not ok]
            if recovered:
                Webhook.objects.filter(pk__in=recovered, failing_since__isnull=False).update(
                    failing_since=None
                )
            if failing:
                Webhook.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                    failing_since=now
                )
        if released:
            Delivery.objects.filter(pk__in=released).update(next_attempt_at=now)


def disable_failing() -> int:
    """Disable webhooks that failed for SUPPORTDESK_WEBHOOK_DISABLE_DAYS and email the admins."""
    cutoff = timezone.now() - timedelta(days=settings.SUPPORTDESK_WEBHOOK_DISABLE_DAYS)
    failing = list(Webhook.objects.filter(active=True, failing_since__lt=cutoff))
    for webhook in failing:
        with transaction.atomic():
            if not Webhook.objects.filter(pk=webhook.pk, active=True).update(
                active=False, disabled_at=timezone.now()
            ):
                continue
            _email_admins(webhook)
    return len(failing)


def _email_admins(webhook: Webhook) -> None:
    from mailer.services import build_email, queue_emails

    admins = list(User.objects.filter(is_active=True, role="admin").values_list("email", flat=True))
    if not admins:
        return
    days = settings.SUPPORTDESK_WEBHOOK_DISABLE_DAYS
    queue_emails(
        [
            build_email(
                to=admins,
                subject=f"Webhook disabled: {webhook.url}",
                body_text=(
                    f"Every delivery to {webhook.url} failed for {days} days, so Supportdesk "
                    "stopped sending to it. Its undelivered events are kept: fix the receiver, "
                    "enable the webhook again and redeliver them from the webhooks page."
                ),
            )
        ]
    )


# A retry due within this long arms one Celery task at its time (far below the broker's
# visibility timeout, see TRAPS.md); later ones are the sweep's.
RETRY_TIMER = timedelta(minutes=5)


def arm_retry() -> bool:
    """After a batch: arm one delivery task at the earliest retry due soon (deduplicated per
    second in the cache). The rows stay the record: a lost timer only waits for the sweep."""
    from django.core.cache import cache

    from webhooks.tasks import deliver

    if deliver.app.conf.task_always_eager:
        return False
    now = timezone.now()
    due = (
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING,
            webhook__active=True,
            next_attempt_at__gt=now,
            next_attempt_at__lte=now + RETRY_TIMER,
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is None:
        return False
    try:
        if not cache.add(f"webhooks:retry:{int(due.timestamp())}", 1, timeout=400):
            return False
        deliver.apply_async(countdown=max((due - now).total_seconds(), 0.1))
    except Exception:
        log.warning("Could not arm the webhook retry timer", exc_info=True)
        return False
    return True


def redeliver(delivery: Delivery) -> Delivery:
    """Send an event again on demand (delivered or not), same event id; audited (who asked)."""
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        record(
            "webhook.redelivered",
            object_type="webhook",
            object_id=delivery.webhook_id,
            detail={"delivery": delivery.pk, "event": str(delivery.event_id)},
        )
        transaction.on_commit(_kick, robust=True)
    delivery.refresh_from_db()
    return delivery


def enable(webhook: Webhook) -> Webhook:
    """Turn a webhook on again (it was disabled after failing for days); audited."""
    with transaction.atomic():
        was_active = Webhook.objects.filter(pk=webhook.pk).values_list("active", flat=True).first()
        Webhook.objects.filter(pk=webhook.pk).update(
            active=True, disabled_at=None, failing_since=None
        )
        record("webhook.enabled", obj=webhook, changes={"active": (was_active, True)})
        transaction.on_commit(_kick, robust=True)
    webhook.refresh_from_db()
    return webhook
