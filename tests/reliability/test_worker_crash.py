"""A Celery worker killed with -9 in the middle of work: after a new worker starts, every
follow-up is sent and every grant executed exactly once; only what was in flight is repeated, and
a repeated email carries the same Message-ID so mail clients collapse it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.models import OutboundEmail
from tests import factories
from tests.helpers.grants import make_grant
from tests.helpers.reliability import SlowShop, due_now, send_sweep, wait_until
from tests.helpers.servers import kill_celery_worker, start_celery_worker, stop_celery_worker
from tickets import services as tickets
from tickets.models import FollowUp, FollowUpStatus
from wow_credits.models import Grant, GrantStatus

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

FOLLOW_UPS = 60


def _leases_run_out() -> None:
    """The claims of the dead worker expire (minutes in production; now here)."""
    past = timezone.now() - timedelta(seconds=1)
    OutboundEmail.objects.filter(status="sending").update(claimed_until=past)
    Grant.objects.filter(status=GrantStatus.EXECUTING).update(lease_until=past)


def test_follow_ups_are_all_sent_after_a_worker_is_killed_mid_batch(
    transactional_db, cast, tmp_path, slow_smtp
):
    ticket = factories.TicketFactory(assignee=cast.alice)
    due = timezone.now() - timedelta(seconds=1)
    for n in range(FOLLOW_UPS):
        tickets.schedule_follow_up(ticket, by=cast.alice, send_at=due, body=f"Follow-up {n}")

    first = start_celery_worker(tmp_path, slow_smtp, "worker-1")
    try:
        send_sweep()
        wait_until(lambda: len(slow_smtp.messages) >= 10, 60, "the first emails")
        kill_celery_worker(first)
    finally:
        stop_celery_worker(first)
    received_before = len(slow_smtp.messages)
    assert received_before < FOLLOW_UPS, "the worker finished before it was killed"
    in_flight = set(
        OutboundEmail.objects.filter(status="sending").values_list("message_id", flat=True)
    )

    _leases_run_out()
    second = start_celery_worker(tmp_path, slow_smtp, "worker-2")
    try:
        send_sweep()
        wait_until(
            lambda: (
                FollowUp.objects.filter(status=FollowUpStatus.SENT).count() == FOLLOW_UPS
                and not OutboundEmail.objects.exclude(status="sent").exists()
            ),
            90,
            "every follow-up sent",
        )
        send_sweep()  # another beat tick changes nothing
        wait_until(lambda: "supportdesk.sweep" in second.log(), 10)
    finally:
        stop_celery_worker(second)

    outbound = set(OutboundEmail.objects.values_list("message_id", flat=True))
    assert len(outbound) == FOLLOW_UPS  # one email per follow-up, never a second row
    received = Counter(m["Message-ID"] for m in slow_smtp.messages)
    assert set(received) == outbound  # every one arrived, under its own Message-ID
    repeated = {mid for mid, n in received.items() if n > 1}
    # Only what was in flight when the worker died is sent again (one per worker process).
    assert repeated <= in_flight
    assert len(repeated) <= 2
    assert all(n <= 2 for n in received.values())


def test_every_grant_executes_once_after_a_worker_is_killed_mid_execution(
    transactional_db, slow_shop, cast, order, tmp_path, smtp_server
):
    smtp_server.clear()
    grants = [
        make_grant("overnight_reship", by=cast.alice, order=order),
        make_grant("refund", by=cast.alice, order=order, amount="20"),
        make_grant("vip_upgrade", by=cast.alice, customer=order.customer),
        make_grant("discount_code", by=cast.alice, customer=order.customer, amount="10"),
        make_grant("gift", by=cast.alice, order=order),
    ]
    due_now(Grant, *[g.pk for g in grants])
    first = start_celery_worker(tmp_path, smtp_server, "worker-1")
    try:
        send_sweep()
        assert SlowShop.arrived.wait(30), first.log()
        kill_celery_worker(first)  # mid-POST of the first grant; the others are claimed
    finally:
        stop_celery_worker(first)
    assert Grant.objects.filter(status=GrantStatus.EXECUTED).count() == 0
    in_flight = Grant.objects.get(pk=grants[0].pk)
    assert in_flight.status == GrantStatus.EXECUTING  # claimed, not lost, not finished

    _leases_run_out()
    second = start_celery_worker(tmp_path, smtp_server, "worker-2")
    try:
        send_sweep()
        wait_until(
            lambda: Grant.objects.filter(status=GrantStatus.EXECUTED).count() == len(grants),
            60,
            "every grant executed",
        )
        smtp_server.wait_for(len(grants), timeout=30)
        send_sweep()
        wait_until(lambda: second.log().count("supportdesk.sweep") >= 2, 10)
    finally:
        stop_celery_worker(second)

    keys = Counter(SlowShop.keys)
    expected = {f"grant-{g.pk}" for g in grants}
    assert set(keys) == expected
    # The shop saw the in-flight grant twice under one key (so it applies it once), others once.
    assert keys[f"grant-{grants[0].pk}"] == 2
    assert sum(keys.values()) == len(grants) + 1
    mails = [m for m in smtp_server.messages if m["X-Supportdesk-Grant"]]
    assert sorted(m["X-Supportdesk-Grant"] for m in mails) == sorted(str(g.pk) for g in grants)
    # The in-flight grant was run twice (the lease ran out) and executed once.
    in_flight.refresh_from_db()
    assert in_flight.attempts == 2
    assert [e.to_status for e in in_flight.events.all()] == [
        "pending",
        "executing",
        "executing",
        "executed",
    ]
