"""Scheduled follow-ups: stored as rows, sent by the sweep when due, exactly once."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from mailer.delivery import deliver_all_due
from mailer.models import OutboundEmail, OutboundStatus
from tests.helpers.inbound import ticket_from_customer_email
from tests.helpers.mail import drain_to_marker
from tickets.models import FollowUp, FollowUpStatus, Message


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


@pytest.fixture
def celery_eager():
    """The after-commit delivery task runs in this process (see test_outbound_email)."""
    from supportdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


def _tomorrow_at_nine() -> datetime:
    tomorrow = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, clock(9, 0)))


def _sweep() -> str:
    out = io.StringIO()
    call_command("sweep", stdout=out)
    return out.getvalue()


def _schedule(api_client, ticket_id: int, send_at: datetime, body: str) -> dict:
    response = api_client.post(
        f"/api/v1/tickets/{ticket_id}/follow-ups",
        {"send_at": send_at.isoformat(), "body": body},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_follow_up_is_sent_once_when_due(
    db, cast, api_client, smtp_sink, celery_eager, django_capture_on_commit_callbacks
):
    ticket, _, customer_message_id = ticket_from_customer_email()
    send_at = _tomorrow_at_nine()
    created = _schedule(api_client, ticket.pk, send_at, "I checked: size 10 fits.")

    with django_capture_on_commit_callbacks(execute=True):
        _sweep()
    assert FollowUp.objects.get(pk=created["id"]).status == FollowUpStatus.SCHEDULED
    assert smtp_sink.messages == []

    with time_machine.travel(send_at + timedelta(minutes=1), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            _sweep()
        [sent] = smtp_sink.wait_for(1)
        with django_capture_on_commit_callbacks(execute=True):
            _sweep()

    # A (wrong) second email would be due before the marker, so sent before it.
    assert drain_to_marker(smtp_sink, deliver=deliver_all_due) == [sent]
    assert "I checked: size 10 fits." in sent.get_body(("plain",)).get_content()
    assert sent["In-Reply-To"] == customer_message_id
    assert sent["Reply-To"].startswith(f"support+{ticket.reference}@")
    follow_up = FollowUp.objects.get(pk=created["id"])
    assert follow_up.status == FollowUpStatus.SENT
    assert Message.objects.get(pk=follow_up.message_id).body_text == "I checked: size 10 fits."
    assert sent["Message-ID"] == follow_up.message.message_id
    email = OutboundEmail.objects.get(ticket_message_id=follow_up.message_id)  # one row only
    assert email.status == OutboundStatus.SENT


def test_a_follow_up_is_delivered_by_the_sweep_when_the_task_never_runs(
    db, cast, api_client, smtp_sink, celery_eager, django_capture_on_commit_callbacks
):
    # The after-commit task goes to a broker nobody consumes (every worker down): the next sweep
    # still delivers the durable row.
    celery_eager.conf.task_always_eager = False
    ticket, _, _ = ticket_from_customer_email()
    send_at = _tomorrow_at_nine()
    _schedule(api_client, ticket.pk, send_at, "Following up as promised.")

    with time_machine.travel(send_at + timedelta(hours=1), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            _sweep()  # turns the follow-up into a queued email
        output = _sweep()  # the mail sweep sends it
        [sent] = smtp_sink.wait_for(1)
        _sweep()

    assert "outbound_mail: 1" in output
    assert len(smtp_sink.messages) == 1
    assert "Following up as promised." in sent.get_body(("plain",)).get_content()


def test_a_follow_up_needs_a_timezone_and_a_body(db, cast, api_client):
    ticket, _, _ = ticket_from_customer_email()

    naive = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/follow-ups",
        {"send_at": "2030-01-01T09:00:00", "body": "x"},
        content_type="application/json",
    )
    blank = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/follow-ups",
        {"send_at": _tomorrow_at_nine().isoformat(), "body": "   "},
        content_type="application/json",
    )

    assert naive.status_code == 422
    assert blank.status_code == 422
    assert not FollowUp.objects.exists()
