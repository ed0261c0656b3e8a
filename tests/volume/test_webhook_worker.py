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

    from tests.conftest import start_celery_worker, stop_celery_worker

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
            customer=customer_for_email("pat@shop.example"), subject="Down", body_text="x"
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
