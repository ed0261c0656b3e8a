from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.utils import timezone

from customers.models import Shipment, Tier
from mailer.delivery import deliver_all_due
from tests import factories
from tests.helpers.grants import make_grant
from wow_credits import services
from wow_credits.backends import LocalBackend, WebhookBackend
from wow_credits.models import DiscountCode, GrantStatus, LocalEffect
from wow_credits.sweeps import execute_due_grants


def after_window():
    return time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1), tick=False)


def test_nothing_executes_inside_the_undo_window(cast, order):
    grant = make_grant("vip_upgrade", by=cast.alice, customer=order.customer)
    assert execute_due_grants() == 0
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING


def test_the_sweep_executes_after_the_window_with_local_effects(cast, order):
    vip = make_grant("vip_upgrade", by=cast.alice, customer=order.customer)
    reship = make_grant("overnight_reship", by=cast.alice, order=order)
    code1 = make_grant("discount_code", by=cast.alice, customer=order.customer, amount="15")
    code2 = make_grant(
        "discount_code", by=cast.bob, customer=order.customer, details={"percent": 20}
    )
    refund = make_grant("refund", by=cast.alice, order=order)
    undone = make_grant("gift", by=cast.alice, order=order)
    services.undo_grant(undone, by=cast.alice)
    with after_window():
        assert execute_due_grants() == 5
    for g in (vip, reship, code1, code2, refund):
        g.refresh_from_db()
        assert g.status == GrantStatus.EXECUTED, g.last_error
        assert [e.to_status for e in g.events.all()] == ["pending", "executing", "executed"]
    order.refresh_from_db()
    order.customer.refresh_from_db()
    assert order.customer.tier == Tier.VIP
    assert order.status == "refunded"
    new = Shipment.objects.get(order=order, method="overnight")
    assert new.status == "pending" and new.address == "1 Wrong St, Springfield"
    assert new.tracking and new.tracking in reship.outcome
    codes = DiscountCode.objects.order_by("id")
    assert len({c.code for c in codes}) == 2
    assert (codes[0].amount, codes[1].percent) == (Decimal("15.00"), 20)
    assert codes[0].code in code1.outcome
    undone.refresh_from_db()
    assert undone.status == GrantStatus.UNDONE


def test_reroute_changes_the_open_shipment(cast, order):
    grant = make_grant(
        "reroute_overnight", by=cast.alice, order=order, details={"address": "7 Chapel Rd"}
    )
    with after_window():
        execute_due_grants()
    grant.refresh_from_db()
    shipment = order.shipments.get()
    assert (shipment.method, shipment.address) == ("overnight", "7 Chapel Rd")
    assert "7 Chapel Rd" in grant.outcome


def test_confirmation_email_is_threaded_with_the_ticket(cast, order, smtp_sink):
    ticket = factories.TicketFactory(customer=order.customer, subject="Shoes for the wedding")
    first = factories.MessageFactory(ticket=ticket, message_id="<wedding-1@customer.example>")
    make_grant("overnight_reship", by=cast.alice, order=order, ticket_id=ticket.pk)
    with after_window():
        execute_due_grants()
        deliver_all_due()  # the mail sweep, as beat runs it
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == order.customer.primary_email
    assert mail["In-Reply-To"] == first.message_id
    assert first.message_id in mail["References"]
    assert ticket.reference in mail["Reply-To"]
    assert ticket.reference in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert Shipment.objects.get(method="overnight").tracking in body
    assert "wrong address" in body


def test_a_grant_left_executing_by_a_crash_is_never_applied_twice(cast, order):
    reship = make_grant("overnight_reship", by=cast.alice, order=order)
    code = make_grant("discount_code", by=cast.alice, customer=order.customer, amount="5")
    with after_window():
        claimed = services._claim(10)  # the worker claims, executes, then dies before recording
        for g in claimed:
            LocalBackend().execute(g)
    assert Shipment.objects.filter(method="overnight").count() == 1
    reship.refresh_from_db()
    assert reship.status == GrantStatus.EXECUTING
    # Inside the lease nobody touches it; after the lease it is re-run with the same key.
    with after_window():
        assert execute_due_grants() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert execute_due_grants() == 2
    for g in (reship, code):
        g.refresh_from_db()
        assert g.status == GrantStatus.EXECUTED
        assert g.attempts == 2
    assert Shipment.objects.filter(method="overnight").count() == 1
    assert DiscountCode.objects.count() == 1
    assert LocalEffect.objects.count() == 2


class ShopHandler(BaseHTTPRequestHandler):
    statuses: list[int] = []
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"reference": "shop-42"}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def shop():
    ShopHandler.statuses, ShopHandler.received = [], []
    server = HTTPServer(("127.0.0.1", 0), ShopHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/grants"
    server.shutdown()


@pytest.fixture
def webhook_settings(settings, shop):
    settings.SUPPORTDESK_COMMERCE_BACKEND = "webhook"
    settings.SUPPORTDESK_COMMERCE_WEBHOOK_URL = shop[1]
    settings.SUPPORTDESK_COMMERCE_WEBHOOK_SECRET = "shop-secret"
    settings.SUPPORTDESK_GRANT_RETRY_SECONDS = 10
    return settings


def test_webhook_retries_with_backoff_then_executes(cast, order, webhook_settings):
    ShopHandler.statuses = [500, 500]
    grant = make_grant("refund", by=cast.alice, order=order, amount="40")
    start = timezone.now() + timedelta(minutes=10, seconds=1)
    with time_machine.travel(start, tick=False):
        execute_due_grants()
        grant.refresh_from_db()
        assert grant.status == GrantStatus.PENDING and grant.last_error == "HTTP 500 from the shop"
        assert grant.next_attempt_at == start + timedelta(seconds=10)
        assert execute_due_grants() == 0  # not due yet
    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        execute_due_grants()
        grant.refresh_from_db()
        assert grant.next_attempt_at == start + timedelta(seconds=11 + 20)
    with time_machine.travel(start + timedelta(seconds=40), tick=False):
        assert execute_due_grants() == 1
    grant.refresh_from_db()
    assert (grant.status, grant.external_ref, grant.attempts) == ("executed", "shop-42", 3)
    assert len(ShopHandler.received) == 3
    headers, body = ShopHandler.received[-1]
    expected = hmac.new(b"shop-secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Supportdesk-Signature"] == f"sha256={expected}"
    assert {h["Idempotency-Key"] for h, _ in ShopHandler.received} == {f"grant-{grant.pk}"}
    payload = json.loads(body)
    assert (payload["kind"], payload["amount"]) == ("refund", "40.00")
    assert payload["order_external_id"] == order.external_id


def test_webhook_gives_up_visibly_and_can_be_retried(cast, order, webhook_settings):
    webhook_settings.SUPPORTDESK_GRANT_MAX_ATTEMPTS = 2
    ShopHandler.statuses = [503, 503]
    grant = make_grant("gift", by=cast.alice, order=order)
    now = timezone.now() + timedelta(minutes=11)
    for step in range(2):
        with time_machine.travel(now + timedelta(minutes=step), tick=False):
            execute_due_grants()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.FAILED
    assert "503" in grant.last_error
    services.retry_grant(grant, by=cast.bob)
    with time_machine.travel(now + timedelta(minutes=3), tick=False):
        assert execute_due_grants() == 1
    grant.refresh_from_db()
    assert grant.status == GrantStatus.EXECUTED
    assert [e.to_status for e in grant.events.all()][-3:] == ["pending", "executing", "executed"]


def test_webhook_down_is_a_retrying_state(cast, order, settings):
    settings.SUPPORTDESK_COMMERCE_BACKEND = "webhook"
    settings.SUPPORTDESK_COMMERCE_WEBHOOK_URL = "http://127.0.0.1:9/nothing"
    settings.SUPPORTDESK_COMMERCE_WEBHOOK_SECRET = "s"
    grant = make_grant("rebate", by=cast.alice, order=order, amount="5")
    with after_window():
        execute_due_grants()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING
    assert grant.last_error.startswith("Shop unreachable")


def test_webhook_signature_is_verifiable(cast, order):
    backend = WebhookBackend("http://shop.example/hook", "k")
    body = b'{"a":1}'
    assert backend.sign(body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


def test_an_executed_coworker_bonus_becomes_a_story(cast):
    bonus = make_grant("coworker_bonus", by=cast.alice, recipient=cast.bob, amount="25")
    with after_window():
        execute_due_grants()
    story = bonus.stories.get()
    assert (story.author, story.subject_user, story.story) == (cast.alice, cast.bob, bonus.reason)


def test_monthly_digest_is_sent_once(cast, smtp_sink):
    with time_machine.travel("2026-10-10 12:00Z", tick=False):
        story = services.nominate_story(by=cast.alice, title="Shoes", story="Overnight.")
        services.celebrate(story, by=cast.carol)
    with time_machine.travel("2026-11-01 08:00Z", tick=False):
        assert services.send_monthly_digest() == 4  # everyone in the cast
        assert services.send_monthly_digest() == 0
        deliver_all_due()
    mails = smtp_sink.wait_for(4)
    assert mails[0]["Subject"] == "WOW digest: October 2026"
    assert "Shoes (Alice Agent, 1 celebration)" in mails[0].get_content()
