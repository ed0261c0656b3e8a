"""Scenario 1 on real servers: daphne for the API, a real Celery worker, the SMTP sink.

The chat part (the agent sees the order in the chat sidebar) belongs to livechat; here the grant
carries the chat id, as the chat console's grant dialog will send it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import issue_api_token
from customers.models import Customer, Order, Tier
from wow_credits.models import Grant, GrantStatus

pytestmark = pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")


def call(server, token, method, path, body=None, key=None):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_the_best_mans_shoes(
    shop_token, cast, core_values, live_server, celery_worker, smtp_server
):
    alice = issue_api_token(cast.alice)
    carol = issue_api_token(cast.carol)
    status, _ = call(
        live_server,
        shop_token,
        "POST",
        "/api/v1/orders",
        {
            "external_id": "WED-1",
            "customer": {"email": "sam.best@example.com", "name": "Sam Best"},
            "items": [{"name": "Oxford shoes, size 10", "price": "180.00"}],
            "total": "180.00",
            "shipping": {
                "method": "standard",
                "address": "12 Chapel Rd",
                "carrier": "UPS",
                "tracking": "1Z999",
                "status": "in_transit",
            },
        },
    )
    assert status in (200, 201)
    status, ticket = call(
        live_server,
        alice,
        "POST",
        "/api/v1/tickets",
        {
            "subject": "My shoes for tomorrow's wedding",
            "body": "They went to 12 Chapel Rd, I live at 21!",
            "customer": {"email": "sam.best@example.com"},
        },
    )
    assert status == 201
    reason = "Best man's shoes went to the wrong address the day before the wedding"
    grants = []
    for kind, extra in (
        ("overnight_reship", {"order_external_id": "WED-1"}),
        ("refund", {"order_external_id": "WED-1"}),
        ("vip_upgrade", {}),
    ):
        body = {
            "kind": kind,
            "customer_email": "sam.best@example.com",
            "reason": reason,
            "ticket_id": ticket["id"],
            "chat_id": 4242,
            **extra,
        }
        status, grant = call(live_server, alice, "POST", "/api/v1/wow/grants", body, f"wed-{kind}")
        assert status == 201, grant
        grants.append(grant)
    assert grants[1]["amount"] == "180.00"  # a full refund

    smtp_server.clear()
    # The undo window passes (the worker has its own clock, so the rows are made due).
    past = timezone.now() - timedelta(seconds=1)
    Grant.objects.filter(pk__in=[g["id"] for g in grants]).update(
        undo_until=past, execute_after=past
    )
    from supportdesk.celery import app

    app.send_task("supportdesk.sweep")
    deadline = time.monotonic() + 40
    while Grant.objects.filter(status=GrantStatus.EXECUTED).count() < 3:
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.3)

    order = Order.objects.get(external_id="WED-1")
    assert order.status == "refunded"
    overnight = order.shipments.get(method="overnight")
    assert Customer.objects.get(pk=order.customer_id).tier == Tier.VIP
    deadline = time.monotonic() + 20
    while len([m for m in smtp_server.messages if m["X-Supportdesk-Grant"]]) < 3:
        assert time.monotonic() < deadline, "confirmation emails missing"
        time.sleep(0.2)
    mails = [m for m in smtp_server.messages if m["X-Supportdesk-Grant"]]
    assert {m["To"] for m in mails} == {"sam.best@example.com"}
    assert all(m["In-Reply-To"] for m in mails)  # threaded with the ticket
    bodies = " ".join(m.get_body(("plain",)).get_content() for m in mails)
    assert overnight.tracking in bodies and "180.00" in bodies and "VIP" in bodies

    status, story = call(
        live_server,
        alice,
        "POST",
        "/api/v1/wow/stories",
        {
            "title": "The best man's shoes",
            "story": "New shoes overnight, a full refund and VIP for Sam.",
            "values": ["deliver-wow-through-service"],
            "ticket_id": ticket["id"],
            "chat_id": 4242,
            "grant_ids": [g["id"] for g in grants],
        },
    )
    assert status == 201
    status, wall = call(live_server, carol, "GET", "/api/v1/wow/stories")
    assert [s["id"] for s in wall["items"]] == [story["id"]]
    status, celebrated = call(
        live_server, carol, "POST", f"/api/v1/wow/stories/{story['id']}/celebrate"
    )
    assert (status, celebrated) == (200, {"celebrations": 1})
