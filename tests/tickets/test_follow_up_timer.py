"""A follow-up goes out at its due instant, not at beat's next tick: the sweep (and scheduling)
arms one Celery task with an `eta` at the earliest follow-up due before the next tick. With a 30 s
sweep interval, only that timer can send these follow-ups within a second of their instant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.models import OutboundEmail
from tests import factories
from tests.helpers.mail import MARKER_TO, drain_to_marker
from tests.helpers.reliability import send_sweep, wait_until
from tests.helpers.servers import start_celery_worker, stop_celery_worker
from tickets import services as tickets
from tickets.models import FollowUp, FollowUpStatus

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

SWEEP_SECONDS = 30
# Converted and delivered within this long after the instant (a second, plus slack for a loaded
# two-core test machine); the next sweep tick would be up to 30 s late.
ON_TIME = timedelta(seconds=1.5)


@pytest.fixture
def eager():
    """Set the test process's Celery app eager or not; restored afterwards."""
    from supportdesk.celery import app

    previous = app.conf.task_always_eager

    def set_eager(value: bool) -> None:
        app.conf.task_always_eager = value

    yield set_eager
    app.conf.task_always_eager = previous


@pytest.fixture
def worker(transactional_db, tmp_path, smtp_server, settings, eager):
    settings.SUPPORTDESK_SWEEP_SECONDS = SWEEP_SECONDS
    eager(False)  # the test process publishes to the test broker, as a web process does
    smtp_server.clear()
    process = start_celery_worker(
        tmp_path, smtp_server, "worker-timer", {"SUPPORTDESK_SWEEP_SECONDS": str(SWEEP_SECONDS)}
    )
    yield process
    stop_celery_worker(process)


def _log_lines(worker, task: str, event: str) -> int:
    return sum(1 for line in worker.log().splitlines() if f"{task}[" in line and event in line)


def test_a_follow_up_scheduled_seconds_ahead_goes_out_at_its_instant_once(
    worker, cast, smtp_server
):
    ticket = factories.TicketFactory(assignee=cast.alice)
    follow_up = tickets.schedule_follow_up(
        ticket,
        by=cast.alice,
        send_at=timezone.now() + timedelta(seconds=2),
        body="As promised: the tracking number.",
    )

    [mail] = smtp_server.wait_for(1, timeout=10)
    # Through the worker like the follow-up: a second copy would arrive before the marker.
    assert drain_to_marker(smtp_server, deliver=send_sweep) == [mail]

    assert "As promised: the tracking number." in mail.get_body(("plain",)).get_content()
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.SENT
    email = OutboundEmail.objects.get(ticket_message_id=follow_up.message_id)
    assert follow_up.message.created_at >= follow_up.send_at  # never early
    assert email.sent_at - follow_up.send_at < ON_TIME
    assert _log_lines(worker, "tickets.send_follow_ups_at", "received") == 1


def test_many_follow_ups_due_at_one_instant_arm_one_timer(worker, cast, smtp_server):
    ticket_list = [factories.TicketFactory(assignee=cast.alice) for _ in range(20)]
    due = timezone.now() + timedelta(seconds=3)
    # Stored without schedule_follow_up (as bench/followups.py does): only the sweep can arm.
    FollowUp.objects.bulk_create(
        [
            FollowUp(ticket=t, body=f"Update {t.pk}", send_at=due, created_by=cast.alice)
            for t in ticket_list
        ]
    )

    for _ in range(3):  # beat's ticks; each sweep finds the same instant
        send_sweep()
    wait_until(
        lambda: _log_lines(worker, "tickets.send_follow_ups_at", "received"), 10, "the timer"
    )
    assert timezone.now() < due
    # Here too (as a web process scheduling another follow-up for that instant would).
    assert tickets.arm_follow_up_timer() is False
    assert tickets.arm_follow_up_timer(due) is False

    smtp_server.wait_for(20, timeout=10)

    assert len(drain_to_marker(smtp_server, deliver=send_sweep)) == 20
    sent = FollowUp.objects.filter(status=FollowUpStatus.SENT).select_related("message")
    assert sent.count() == 20
    # The follow-ups' emails (the marker may reach the sink before its row is marked sent).
    replies = OutboundEmail.objects.exclude(to=[MARKER_TO])
    last_sent = max(replies.values_list("sent_at", flat=True))
    assert last_sent - due < ON_TIME
    assert _log_lines(worker, "tickets.send_follow_ups_at", "received") == 1


def test_the_embedded_profile_arms_no_timer(db, eager):
    eager(True)
    assert tickets.arm_follow_up_timer(timezone.now() + timedelta(seconds=1)) is False
