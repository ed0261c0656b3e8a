"""Scenario 3's promise: a follow-up that falls due while no worker and no sweep runs (and Redis
restarts meanwhile) is sent once, as soon as work resumes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.helpers.mail import drain_to_marker
from tests.helpers.reliability import send_sweep, wait_until
from tests.helpers.servers import start_celery_worker, stop_celery_worker
from tickets import services as tickets
from tickets.models import FollowUp, FollowUpStatus

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


def test_a_follow_up_due_during_downtime_is_sent_once_after_recovery(
    transactional_db, cast, tmp_path, smtp_server, redis_server
):
    smtp_server.clear()
    ticket = factories.TicketFactory(assignee=cast.alice)
    follow_up = tickets.schedule_follow_up(
        ticket,
        by=cast.alice,
        send_at=timezone.now() + timedelta(seconds=2),
        body="As promised: the size chart.",
    )
    # Downtime: no worker, no beat, and Redis restarts; the due time passes.
    redis_server.restart()
    time.sleep(3)
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.SCHEDULED
    assert smtp_server.messages == []

    worker = start_celery_worker(tmp_path, smtp_server, "worker-after")
    try:
        for _ in range(3):  # beat's ticks after recovery; only the first one has work
            send_sweep()
        [mail] = smtp_server.wait_for(1, timeout=30)
        wait_until(lambda: worker.log().count("supportdesk.sweep") >= 3, 20, "three sweeps")
        # A second copy would come before the marker (sent in order, after the sweeps). The
        # marker goes through the worker too: this process publishes it, as a web process does,
        # instead of sending it itself (eager), which would reach Django's test outbox instead.
        from supportdesk.celery import app

        eager, app.conf.task_always_eager = app.conf.task_always_eager, False
        try:
            arrived = drain_to_marker(smtp_server, deliver=send_sweep)
        finally:
            app.conf.task_always_eager = eager
    finally:
        stop_celery_worker(worker)
    assert arrived == [mail]
    assert "As promised: the size chart." in mail.get_body(("plain",)).get_content()
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUpStatus.SENT
