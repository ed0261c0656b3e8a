"""Webhooks with a real Celery worker: a receiver that answers 500, then recovers, gets every
event once, in order, with the same event ids; retries come from the worker's own timer."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from customers.services import customer_for_email
from tickets import services as tickets
from webhooks import services
from webhooks.models import Delivery


@pytest.mark.live
def test_a_real_worker_retries_until_the_receiver_recovers(
    transactional_db, tmp_path, smtp_server, cast, settings
):
    from celery import current_app

    from tests.helpers.servers import start_celery_worker, stop_celery_worker

    received: list[tuple[str, str, int]] = []
    answer = {"status": 500}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            import json

            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(
                (self.headers["X-Supportdesk-Event-Id"], body["type"], answer["status"])
            )
            self.send_response(answer["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = True
    worker = start_celery_worker(
        tmp_path,
        smtp_server,
        extra_env={
            "SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE": "true",
            "SUPPORTDESK_WEBHOOK_BACKOFF_SECONDS": "1",
        },
    )
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False  # the kick goes to the worker through Redis
    try:
        services.create_webhook(
            url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            events=[],
            secret="s" * 20,
            by=None,
        )
        ticket, _ = tickets.create_ticket(
            tickets.NewTicket(
                customer=customer_for_email("pat@shop.example"), subject="Down", body_text="x"
            )
        )
        tickets.set_status(ticket, status="pending", by=cast.alice)

        deadline = time.monotonic() + 60
        while sum(1 for r in received if r[2] == 500) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        answer["status"] = 200  # the receiver is back
        while (
            Delivery.objects.filter(status="delivered").count() < 3 and time.monotonic() < deadline
        ):
            time.sleep(0.3)
    finally:
        current_app.conf.task_always_eager = eager
        stop_celery_worker(worker)
        server.shutdown()

    delivered = [(event_id, kind) for event_id, kind, status in received if status == 200]
    assert [kind for _, kind in delivered] == [
        "ticket.created",
        "message.created",
        "ticket.updated",
    ]
    failed_ids = {event_id for event_id, _, status in received if status == 500}
    assert failed_ids == {delivered[0][0]}  # only the first event was retried; same id each time
    assert Delivery.objects.filter(status="delivered").count() == 3


@pytest.mark.live
def test_a_backlog_is_drained_by_both_worker_processes_each_event_once_in_order(
    transactional_db, tmp_path, smtp_server, settings
):
    """A receiver back after an outage: 600 events waiting, one kick (as enabling the webhook
    does); the worker's two processes share the backlog (a helper task, SKIP LOCKED claims)."""
    import json
    from collections import Counter

    from celery import current_app

    from tests.helpers.servers import start_celery_worker, stop_celery_worker
    from webhooks.models import Webhook

    received: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the lanes use it

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            data = body["data"]
            with lock:
                received.append((body["id"], body["type"], data.get("ticket_id") or data["id"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = True
    webhook = services.create_webhook(
        url=f"http://127.0.0.1:{server.server_address[1]}/hook", events=[], secret="s" * 20, by=None
    )
    customer = customer_for_email("pat@shop.example")
    for n in range(300):
        tickets.create_ticket(
            tickets.NewTicket(customer=customer, subject=f"Parcel {n}", body_text="x")
        )
    Webhook.objects.filter(pk=webhook.pk).update(active=False)  # the outage, then the fix:
    worker = start_celery_worker(
        tmp_path, smtp_server, extra_env={"SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE": "true"}
    )
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        services.enable(webhook)
        deadline = time.monotonic() + 90
        while len(received) < 600 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # a late duplicate would show itself
    finally:
        current_app.conf.task_always_eager = eager
        stop_celery_worker(worker)
        server.shutdown()

    counts = Counter(event_id for event_id, _, _ in received)
    assert len(counts) == 600 and set(counts.values()) == {1}
    kinds: dict[int, list[str]] = {}
    for _, kind, ticket_id in received:
        kinds.setdefault(ticket_id, []).append(kind)
    assert all(k == ["ticket.created", "message.created"] for k in kinds.values())
    assert Delivery.objects.filter(status="delivered").count() == 600
