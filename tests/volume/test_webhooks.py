"""Outgoing webhooks against a real local receiver: outbox, signatures, retries, order, limits."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from customers.services import customer_for_email
from mailer.models import OutboundEmail
from tickets import services as tickets
from webhooks import services
from webhooks.models import Delivery, Event, Webhook

pytestmark = pytest.mark.django_db
SECRET = "a-webhook-secret-of-some-length"


class Receiver:
    """A local HTTP receiver whose answer the test sets: status, a redirect, a huge body, silence."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.mode = "normal"
        # Answer 500 to the bodies this says yes to (None: answer `status` to everything).
        self.fails: Callable[[dict], bool] | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.mode == "silent":
                    time.sleep(3)
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                if receiver.fails is not None and receiver.fails(json.loads(body)):
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if receiver.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(receiver.status)
                if receiver.mode == "huge":
                    self.send_header("Content-Length", str(3 * 1024**3))
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        for _ in range(200):  # a little of the promised 3 GB, then give up
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                    return
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver(settings):
    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.SUPPORTDESK_WEBHOOK_TIMEOUT = 1.0
    r = Receiver()
    yield r
    r.server.shutdown()


def _subscribe(url: str, events=(), kind="generic") -> Webhook:
    return services.create_webhook(url=url, events=list(events), secret=SECRET, kind=kind, by=None)


def _due_now() -> None:
    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_only_admins_subscribe_and_private_addresses_are_refused(token_client, cast, settings):
    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = False
    body = {"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"], "secret": SECRET}

    agent = token_client(cast.alice).post("/api/v1/webhooks", body, content_type="application/json")
    loopback = token_client(cast.dave).post(
        "/api/v1/webhooks", body, content_type="application/json"
    )
    private = token_client(cast.dave).post(
        "/api/v1/webhooks", {**body, "url": "http://10.1.2.3/x"}, content_type="application/json"
    )
    scheme = token_client(cast.dave).post(
        "/api/v1/webhooks", {**body, "url": "file:///etc/passwd"}, content_type="application/json"
    )
    unknown = token_client(cast.dave).post(
        "/api/v1/webhooks", {**body, "events": ["ticket.exploded"]}, content_type="application/json"
    )

    assert agent.status_code == 403
    assert (loopback.status_code, loopback.json()["code"]) == (422, "private_address")
    assert (private.status_code, private.json()["code"]) == (422, "private_address")
    assert (scheme.status_code, scheme.json()["code"]) == (422, "bad_scheme")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_event")
    assert not Webhook.objects.exists()


def test_an_event_exists_only_if_its_change_committed(receiver):
    _subscribe(receiver.url)
    customer = customer_for_email("pat@shop.example")

    with pytest.raises(RuntimeError), transaction.atomic():
        tickets.create_ticket(
            tickets.NewTicket(customer=customer, subject="Rolled back", body_text="x")
        )
        raise RuntimeError("the request failed")
    assert not Event.objects.exists()

    tickets.create_ticket(tickets.NewTicket(customer=customer, subject="Kept", body_text="x"))
    assert sorted(Event.objects.values_list("type", flat=True)) == [
        "message.created",
        "ticket.created",
    ]


def test_a_receiver_that_fails_then_recovers_gets_every_event_once_in_order(receiver, cast):
    webhook = _subscribe(receiver.url)
    customer = customer_for_email("pat@shop.example")
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(customer=customer, subject="Shoes", body_text="Help")
    )
    tickets.set_status(ticket, status="pending", by=cast.alice)

    receiver.status = 500
    assert services.deliver_due() == 0
    # Only the first event of the ticket was tried: the later ones wait behind it (order).
    assert len(receiver.received) == 1
    _due_now()
    assert services.deliver_due() == 0
    first_id = receiver.received[0][0]["X-Supportdesk-Event-Id"]
    assert receiver.received[1][0]["X-Supportdesk-Event-Id"] == first_id  # stable across retries
    failed = Delivery.objects.get(event_id=first_id)
    assert failed.attempts == 2 and failed.last_status_code == 500
    assert failed.next_attempt_at > timezone.now()  # backed off

    receiver.status = 200
    _due_now()
    assert services.deliver_due() == 3

    delivered = receiver.payloads()[2:]
    assert [p["type"] for p in delivered] == ["ticket.created", "message.created", "ticket.updated"]
    assert delivered[0]["id"] == first_id and delivered[2]["data"]["status"] == "pending"
    for headers, body in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Supportdesk-Signature"] == expected
    assert Delivery.objects.filter(webhook=webhook, status="delivered").count() == 3
    assert Webhook.objects.get(pk=webhook.pk).failing_since is None


def test_many_objects_go_out_over_several_connections_each_in_order(receiver, cast):
    webhook = _subscribe(receiver.url)
    customer = customer_for_email("pat@shop.example")
    made = []
    for n in range(12):
        ticket, _ = tickets.create_ticket(
            tickets.NewTicket(customer=customer, subject=f"Order {n}", body_text="x")
        )
        tickets.set_status(ticket, status="pending", by=cast.alice)
        made.append(ticket.pk)
    stuck = made[5]
    # The receiver refuses one ticket's events: only that ticket waits, in its order.
    receiver.fails = lambda p: (p["data"].get("ticket_id") or p["data"].get("id")) == stuck

    assert services.deliver_due() == 33

    by_ticket: dict[int, list[str]] = {}
    for payload in receiver.payloads():
        data = payload["data"]
        by_ticket.setdefault(data.get("ticket_id") or data["id"], []).append(payload["type"])
    for pk in made:
        expected = ["ticket.created", "message.created", "ticket.updated"]
        assert by_ticket[pk] == (expected if pk != stuck else ["ticket.created"])
    ids = [h["X-Supportdesk-Event-Id"] for h, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 34  # each once, plus one refused attempt
    # Every attempt is in the log; the stuck ticket's later events were never tried.
    delivered = Delivery.objects.filter(webhook=webhook, status="delivered")
    assert delivered.count() == 33
    assert {(d.attempts, d.last_status_code) for d in delivered} == {(1, 200)}
    waiting = Delivery.objects.filter(webhook=webhook, status="pending").order_by("id")
    assert [(d.attempts, d.last_status_code) for d in waiting] == [(1, 500), (0, None), (0, None)]
    assert webhook.deliveries.filter(log__status_code=200).count() == 33

    receiver.fails = None
    _due_now()
    assert services.deliver_due() == 3
    assert not Delivery.objects.filter(status="pending").exists()


def test_a_backlog_beyond_one_call_queues_the_next_delivery_task(receiver):
    _subscribe(receiver.url, events=["ticket.created"])
    customer = customer_for_email("pat@shop.example")
    for n in range(7):
        tickets.create_ticket(
            tickets.NewTicket(customer=customer, subject=f"Backlog {n}", body_text="x")
        )

    # One call stops at its limit and queues the next (run in-process by the eager test profile).
    assert services.deliver_due(limit=4) == 4

    assert len(receiver.received) == 7
    assert not Delivery.objects.filter(status="pending").exists()


def test_delivery_log_and_redelivery_through_the_api(receiver, token_client, cast):
    webhook = _subscribe(receiver.url, events=["ticket.created"])
    tickets.create_ticket(
        tickets.NewTicket(
            customer=customer_for_email("pat@shop.example"), subject="Log me", body_text="x"
        )
    )
    services.deliver_due()
    admin = token_client(cast.dave)

    log = admin.get(f"/api/v1/webhooks/{webhook.pk}/deliveries").json()["items"]
    assert [(d["event_type"], d["status"], d["last_status_code"]) for d in log] == [
        ("ticket.created", "delivered", 200)
    ]
    assert log[0]["log"][0]["status_code"] == 200 and "duration_ms" in log[0]["log"][0]

    again = admin.post(f"/api/v1/webhooks/{webhook.pk}/deliveries/{log[0]['id']}/redeliver")
    assert again.json()["status"] in ("pending", "delivered")
    services.deliver_due()
    ids = [h["X-Supportdesk-Event-Id"] for h, _ in receiver.received]
    assert ids == [log[0]["event_id"], log[0]["event_id"]]


def test_redirects_are_not_followed_and_count_as_failures(receiver):
    _subscribe(receiver.url, events=["ticket.created"])
    receiver.mode = "redirect"
    tickets.create_ticket(
        tickets.NewTicket(customer=customer_for_email("p@shop.example"), subject="R", body_text="x")
    )

    services.deliver_due()

    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error
    assert len(receiver.received) == 1  # /elsewhere was never asked


def test_a_huge_answer_is_read_only_up_to_the_cap_and_silence_times_out(receiver):
    _subscribe(receiver.url, events=["ticket.created"])
    receiver.mode = "huge"
    tickets.create_ticket(
        tickets.NewTicket(customer=customer_for_email("p@shop.example"), subject="H", body_text="x")
    )

    started = time.monotonic()
    assert services.deliver_due() == 1
    assert time.monotonic() - started < 5

    receiver.mode = "silent"
    tickets.create_ticket(
        tickets.NewTicket(customer=customer_for_email("q@shop.example"), subject="S", body_text="x")
    )
    services.deliver_due()
    late = Delivery.objects.filter(status="pending").get()
    assert late.last_status_code is None and "timed out" in late.last_error.lower()


def test_a_webhook_failing_for_days_is_disabled_and_admins_are_emailed(receiver, cast, settings):
    settings.SUPPORTDESK_WEBHOOK_DISABLE_DAYS = 3
    webhook = _subscribe(receiver.url)
    Webhook.objects.filter(pk=webhook.pk).update(failing_since=timezone.now() - timedelta(days=4))

    services.deliver_due()

    webhook.refresh_from_db()
    assert not webhook.active and webhook.disabled_at is not None
    mail = OutboundEmail.objects.get(subject__startswith="Webhook disabled")
    assert cast.dave.email in mail.to


def test_slack_webhooks_get_readable_text(receiver):
    _subscribe(receiver.url, events=["ticket.created"], kind="slack")
    customer = customer_for_email("p@shop.example")
    tickets.create_ticket(tickets.NewTicket(customer=customer, subject="A question", body_text="x"))
    tickets.create_ticket(
        tickets.NewTicket(customer=customer, subject="Parcel late", body_text="x", type="care")
    )

    services.deliver_due()

    # A channel hears what a person should notice: the care task, not every new ticket.
    [payload] = receiver.payloads()
    assert payload["text"].startswith("Care task opened #") and "Parcel late" in payload["text"]


def test_grants_and_csat_ratings_become_events_and_slack_hears_big_grants(receiver, cast):
    from decimal import Decimal

    from csat.models import Survey
    from csat.services import issue_token, record_rating
    from tests import factories
    from wow_credits import services as wow

    generic = _subscribe(receiver.url, events=["grant.created", "csat.rated"])
    slack = _subscribe(receiver.url, events=["grant.created"], kind="slack")
    customer = factories.CustomerFactory()
    order = factories.OrderFactory(customer=customer, total=Decimal("500.00"))
    for amount, key in ((Decimal("20.00"), "small"), (Decimal("250.00"), "big")):
        wow.grant(
            "refund",
            by=cast.alice,
            customer=customer,
            order=order,
            amount=amount,
            reason="Late",
            idempotency_key=key,
        )
    survey = Survey.objects.create(
        ticket=factories.TicketFactory(customer=customer, status="solved"),
        customer=customer,
        agent=cast.alice,
        email="c@shop.example",
    )
    record_rating(issue_token(survey), 5, "Lovely")

    services.deliver_due()

    generic_types = sorted(
        Delivery.objects.filter(webhook=generic).values_list("event__type", flat=True)
    )
    assert generic_types == ["csat.rated", "grant.created", "grant.created"]
    # Slack hears the grant over the threshold (100 by default) only, in words.
    [slack_delivery] = Delivery.objects.filter(webhook=slack)
    assert slack_delivery.event.data["amount"] == "250.00"
    texts = [p["text"] for p in receiver.payloads() if "text" in p]
    assert texts == ["A refund grant of 250.00 was made"]
