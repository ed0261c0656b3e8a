"""Grants executed by real Celery worker processes, including one killed mid-execution."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Shipment, Tier
from tests.reliability.helpers import SlowShop
from tests.wow_credits.conftest import make_grant
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
    with smtp_server._cond:
        smtp_server.messages.clear()
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


def test_a_worker_killed_mid_execution_neither_loses_nor_repeats_the_grant(
    slow_shop, cast, order, celery_worker, smtp_server, tmp_path
):
    with smtp_server._cond:
        smtp_server.messages.clear()
    grant = make_grant("refund", by=cast.alice, order=order, amount="120")
    _due_now(grant)
    _send_sweep()
    assert SlowShop.arrived.wait(30), celery_worker.log()
    os.killpg(celery_worker.process.pid, signal.SIGKILL)  # main process and children, mid-POST
    celery_worker.process.wait(10)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.EXECUTING  # claimed, not lost, not finished

    # The lease runs out (5 minutes in production); a new worker re-runs it with the same key.
    Grant.objects.filter(pk=grant.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    log = tmp_path / "celery2.log"
    second = subprocess.Popen(
        celery_worker.command,
        env=celery_worker.env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until(lambda: "ready." in log.read_text(errors="replace"))
        _send_sweep()
        _wait_until(lambda: Grant.objects.get(pk=grant.pk).status == GrantStatus.EXECUTED, 40)
        [mail] = smtp_server.wait_for(1)
        time.sleep(1)  # a duplicate would show up now
        assert len(smtp_server.messages) == 1
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(15)
    grant.refresh_from_db()
    assert grant.attempts == 2
    assert [e.to_status for e in grant.events.all()] == [
        "pending",
        "executing",
        "executing",
        "executed",
    ]
    # The shop saw the in-flight request and the re-run under one key, so it applies it once.
    assert SlowShop.keys == [f"grant-{grant.pk}", f"grant-{grant.pk}"]
    assert mail["X-Supportdesk-Grant"] == str(grant.pk)
