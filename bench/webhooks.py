"""Benchmark: outgoing webhook events delivered per minute, against plain Celery in the same run.

Supportdesk: N events written by the services (`create_ticket` for N/2 tickets: `ticket.created`
and `message.created` each, one object per ticket, so per-object order applies) into the outbox,
for one generic webhook (signed) pointing at a local HTTP receiver in this process. They are
written while the webhook's receiver is "down" (the webhook is disabled once they are written,
and the setup's own delivery kicks go to a broker database nobody reads), so they form a backlog.
One real Celery worker (prefork, concurrency 2, production profile) and beat
(`SUPPORTDESK_SWEEP_SECONDS=1`) are running; the clock starts when the webhook is enabled again
exactly as `webhooks.services.enable` does it (the row updated, one `webhooks.deliver` task
queued) and stops at the last event received.

Reference (`bench/plain_celery.py`): the common way, one Celery task per event, each task one
signed POST with `requests` (a new connection each), same receiver, same bodies, same worker
concurrency, same broker; the clock starts at the first enqueue (the worker already running).

The receiver answers `200` to every POST over HTTP/1.1 keep-alive and counts each
`X-Supportdesk-Event-Id`: every event must arrive exactly once (lost and duplicated are reported).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import ROOT, Table, free_port, row, services, spawn, start_celery

TARGET_RATIO = 3.0
SECRET = "bench-webhook-secret-0123456789"


class Receiver:
    """A minimal HTTP/1.1 server on asyncio (keep-alive, Content-Length bodies) in a thread: it
    answers 200 with an empty body and records each event id header, so it is never the limit
    (tens of thousands of requests a second)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.last = 0.0
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        receiver = self

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                self.buffer = b""
                with receiver.lock:
                    receiver.connections += 1

            def data_received(self, data: bytes) -> None:
                self.buffer += data
                while True:
                    end = self.buffer.find(b"\r\n\r\n")
                    if end < 0:
                        return
                    head = self.buffer[:end].decode("latin-1")
                    length = 0
                    event_id = ""
                    close = False
                    for line in head.split("\r\n")[1:]:
                        name, _, value = line.partition(":")
                        name = name.strip().lower()
                        if name == "content-length":
                            length = int(value)
                        elif name == "x-supportdesk-event-id":
                            event_id = value.strip()
                        elif name == "connection" and value.strip().lower() == "close":
                            close = True
                    if len(self.buffer) < end + 4 + length:
                        return
                    self.buffer = self.buffer[end + 4 + length :]
                    with receiver.lock:
                        receiver.ids.append(event_id)
                        receiver.last = time.monotonic()
                    self.transport.write(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                        + (b"Connection: close\r\n\r\n" if close else b"\r\n")
                    )
                    if close:
                        self.transport.close()
                        return

        server = self.loop.run_until_complete(
            self.loop.create_server(Protocol, "127.0.0.1", self.port, backlog=1024)
        )
        self.server = server
        ready.set()
        self.loop.run_forever()

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()
            self.last = 0.0
            self.connections = 0

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def unique(self) -> int:
        with self.lock:
            return len(set(self.ids))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _wait(receiver: Receiver, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and receiver.unique() < expected:
        time.sleep(0.05)


def _sql(env: dict[str, str], query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        cursor = conn.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


def _scratch_broker(env: dict[str, str]) -> str:
    return env["REDIS_URL"].rsplit("/", 1)[0] + "/3"


def _setup(env: dict[str, str], count: int, url: str) -> dict[str, Any]:
    # The setup's after-commit delivery kicks go to a Redis database no worker reads.
    setup_env = {**env, "REDIS_URL": _scratch_broker(env)}
    result = subprocess.run(
        [sys.executable, "-m", "bench.webhooks", "setup", str(count), url],
        env=setup_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if result.returncode != 0:
        raise RuntimeError(f"webhook setup failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _supportdesk_run(env: dict[str, str], receiver: Receiver, count: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{receiver.port}/hooks/supportdesk"
    batch = _setup(env, count, url)
    webhook_id = batch["webhook"]
    expected = {
        str(event_id)
        for (event_id,) in _sql(
            env,
            "SELECT event_id FROM webhooks_delivery WHERE webhook_id = %s AND status = 'pending'",
            [webhook_id],
        )
    }
    receiver.reset()
    worker = start_celery(env, concurrency=2)
    schedule = Path(tempfile.mkdtemp(prefix="bench-beat-")) / "schedule"
    beat = spawn(
        "beat",
        [sys.executable, "-m", "celery", "-A", "supportdesk", "beat", "--loglevel=WARNING",
         f"--schedule={schedule}"],
        env,
    )  # fmt: skip
    time.sleep(5)  # the worker's pool and beat are up before the clock starts
    from celery import Celery

    kicker = Celery("bench-kick", broker=env["REDIS_URL"])
    t0 = time.monotonic()
    # What webhooks.services.enable() does: the row, then one delivery task.
    _sql(
        env,
        "UPDATE webhooks_webhook SET active = true, disabled_at = NULL, failing_since = NULL "
        "WHERE id = %s",
        [webhook_id],
    )
    kicker.send_task("webhooks.deliver")
    _wait(receiver, len(expected), timeout=900)
    elapsed = (receiver.last or time.monotonic()) - t0
    time.sleep(2)  # let a late duplicate show itself
    beat.stop()
    worker.stop()
    kicker.close()
    with receiver.lock:
        received = Counter(receiver.ids)
        connections = receiver.connections
    still_pending = _sql(
        env,
        "SELECT count(*) FROM webhooks_delivery WHERE webhook_id = %s AND status <> 'delivered'",
        [webhook_id],
    )[0][0]
    order_broken = _sql(
        env,
        # Per-object order: no delivery delivered before an earlier event of the same object.
        "SELECT count(*) FROM webhooks_delivery a JOIN webhooks_delivery b "
        "ON a.webhook_id = b.webhook_id AND a.object_key = b.object_key AND a.id < b.id "
        "WHERE a.webhook_id = %s AND b.delivered_at < a.delivered_at",
        [webhook_id],
    )[0][0]
    return {
        "events": len(set(received) & expected),
        "seconds": elapsed,
        "per_minute": len(expected) / elapsed * 60,
        "lost": len(expected - set(received)),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "unknown": len(set(received) - expected),
        "still_pending": still_pending,
        "order_broken": order_broken,
        "connections": connections,
        "setup_seconds": batch["seconds"],
    }


def _plain_run(env: dict[str, str], receiver: Receiver, count: int) -> dict[str, Any]:
    """The same events' bodies, one plain Celery task each (bench/plain_celery.py)."""
    events = [
        {"id": str(i), "type": t, "created_at": c.isoformat(), "data": d}
        for i, t, c, d in _sql(
            env,
            "SELECT id, type, created_at, data FROM webhooks_event ORDER BY created_at LIMIT %s",
            [count],
        )
    ]
    receiver.reset()
    redis = env["REDIS_URL"].rsplit("/", 1)[0] + "/2"
    plain_env = {**env, "PLAIN_CELERY_BROKER": redis}
    worker = spawn(
        "plain-celery",
        [sys.executable, "-m", "celery", "-A", "bench.plain_celery", "worker", "--loglevel=WARNING",
         "--concurrency=2", "--pool=prefork", "--without-gossip", "--without-mingle"],
        plain_env,
    )  # fmt: skip
    time.sleep(4)
    from bench import plain_celery

    plain_celery.app.conf.broker_url = redis
    url = f"http://127.0.0.1:{receiver.port}/hooks/plain"
    t0 = time.monotonic()
    with plain_celery.app.producer_or_acquire() as producer:
        for event in events:
            plain_celery.post_webhook.apply_async((url, SECRET, event), producer=producer)
    _wait(receiver, len(events), timeout=900)
    elapsed = (receiver.last or time.monotonic()) - t0
    time.sleep(1)
    worker.stop()
    with receiver.lock:
        received = Counter(receiver.ids)
        connections = receiver.connections
    expected = {e["id"] for e in events}
    return {
        "events": len(set(received) & expected),
        "seconds": elapsed,
        "per_minute": len(events) / elapsed * 60,
        "lost": len(expected - set(received)),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "connections": connections,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    count = int(os.environ.get("BENCH_WEBHOOK_EVENTS", 2_000 if quick else 10_000))
    receiver = Receiver()
    try:
        with services() as base:
            env = {**base, "SUPPORTDESK_SWEEP_SECONDS": "1",
                   "SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE": "true"}  # fmt: skip
            ours = _supportdesk_run(env, receiver, count)
            print(
                f"  Supportdesk: {ours['per_minute']:,.0f}/min ({ours['events']:,} events in "
                f"{ours['seconds']:.1f} s, {ours['connections']} connections; lost {ours['lost']}, "
                f"duplicated {ours['duplicates']}, order broken {ours['order_broken']})",
                flush=True,
            )
            plain = _plain_run(env, receiver, ours["events"] + ours["lost"])
            print(
                f"  plain Celery: {plain['per_minute']:,.0f}/min ({plain['events']:,} events in "
                f"{plain['seconds']:.1f} s; lost {plain['lost']}, duplicated "
                f"{plain['duplicates']})",
                flush=True,
            )
    finally:
        receiver.stop()
    ratio = ours["per_minute"] / plain["per_minute"]
    rows = [
        row(
            f"webhooks: {count:,} events (backlog), one worker (events/min)",
            unit="/min",
            value=ours["per_minute"],
            throughput=ours["per_minute"] / 60,
            reference=plain["per_minute"],
            target=">=3x plain Celery, 0 lost/dup, in order",
            met=ratio >= TARGET_RATIO
            and ours["lost"] == 0
            and ours["duplicates"] == 0
            and ours["order_broken"] == 0,
            **{k: v for k, v in ours.items() if k != "per_minute"},
        ),
        row(
            "plain Celery reference: one task + one POST (new connection) per event (events/min)",
            unit="/min",
            value=plain["per_minute"],
            throughput=plain["per_minute"] / 60,
            **{k: v for k, v in plain.items() if k != "per_minute"},
        ),
    ]
    Table("webhooks").print(rows)
    return rows


def _make_backlog(count: int, url: str) -> dict[str, Any]:
    """N events through the services: create_ticket for count/2 tickets (two events each) with
    one active webhook, then the webhook disabled (its receiver "down"), as a backlog."""
    from django.db import transaction

    from customers.models import Customer
    from tickets import services as tickets
    from webhooks import services as webhooks
    from webhooks.models import Webhook

    started = time.monotonic()
    Webhook.objects.update(active=False)
    webhook = webhooks.create_webhook(url=url, events=[], secret=SECRET, by=None)
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Webhook customer {i}") for i in range(max(count // 20, 1))]
    )
    for i in range(count // 2):
        tickets.create_ticket(
            tickets.NewTicket(
                customer=customers[i % len(customers)],
                subject=f"Parcel {i} stuck in transit",
                body_text="The tracking page has not moved for three days. Where is it?",
            )
        )
    with transaction.atomic():
        Webhook.objects.filter(pk=webhook.pk).update(active=False)
    return {"webhook": webhook.pk, "seconds": time.monotonic() - started}


def main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    django.setup()
    if argv[1] == "setup":
        print(json.dumps(_make_backlog(int(argv[2]), argv[3])))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
