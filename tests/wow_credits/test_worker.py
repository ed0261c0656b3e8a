"""Grants executed by real Celery worker processes, including one killed mid-execution."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Shipment, Tier
from tests.helpers.grants import make_grant
from wow_credits.models import Grant, GrantStatus

# send_task always goes through the broker to the real worker, which is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")


def _due_now(*grants: Grant) -> None:
    """Close the undo window of these grants (the worker process has its own clock)."""
    past = timezone.now() - timedelta(seconds=1)
    Grant.objects.filter(pk__in=[g.pk for g in grants]).update(undo_until=past, execute_after=past)


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def _send_sweep() -> None:
    from supportdesk.celery import app

    app.send_task("supportdesk.sweep")


def test_a_real_worker_executes_due_grants_and_mails_the_customer(
    cast, order, celery_worker, smtp_server
):
    smtp_server.clear()
    reship = make_grant("overnight_reship", by=cast.alice, order=order)
    vip = make_grant("vip_upgrade", by=cast.alice, customer=order.customer)
    waiting = make_grant("gift", by=cast.alice, order=order)  # still inside its undo window
    _due_now(reship, vip)
    _send_sweep()
    _wait_until(
        lambda: (
            set(Grant.objects.filter(pk__in=[reship.pk, vip.pk]).values_list("status", flat=True))
            == {GrantStatus.EXECUTED}
        ),
    )
    order.customer.refresh_from_db()
    assert order.customer.tier == Tier.VIP
    assert Shipment.objects.filter(order=order, method="overnight").count() == 1
    waiting.refresh_from_db()
    assert waiting.status == GrantStatus.PENDING
    mails = smtp_server.wait_for(2)
    assert {m["X-Supportdesk-Grant"] for m in mails} == {str(reship.pk), str(vip.pk)}
