"""Follow-ups due together are sent in batches: same replies, threading and Message-IDs as one by
one, exactly once; a mail backlog drains over several SMTP connections without a duplicate."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from mailer.delivery import deliver_all_due
from mailer.models import OutboundEmail, OutboundStatus
from mailer.services import build_email
from tests import factories
from tickets import services
from tickets.models import FollowUp, FollowUpStatus, Message, Status


def _ticket(email: str, subject: str):
    customer = factories.CustomerFactory(email=email)
    ticket, first = services.create_ticket(
        services.NewTicket(customer=customer, subject=subject, body_text="Where is my parcel?",
        message_id=f"<first.{email}>",)
    )  # fmt: skip
    return ticket, first


def test_due_follow_ups_become_threaded_replies_in_one_batch_exactly_once(
    db, cast, django_capture_on_commit_callbacks
):
    parcel, _ = _ticket("pat@shop.example", "Parcel")
    shoes, _ = _ticket("sam@shop.example", "Shoes")
    due = timezone.now() - timedelta(minutes=1)
    first = services.schedule_follow_up(parcel, by=cast.alice, send_at=due, body="It left today.")
    second = services.schedule_follow_up(
        parcel, by=cast.alice, send_at=due + timedelta(seconds=1), body="Tracking: 123."
    )
    other = services.schedule_follow_up(shoes, by=None, send_at=due, body="Size 10 fits.")
    later = services.schedule_follow_up(
        shoes, by=cast.bob, send_at=timezone.now() + timedelta(days=1), body="Not yet."
    )

    with django_capture_on_commit_callbacks():
        sent = services.send_due_follow_ups(batch_size=10)
        again = services.send_due_follow_ups(batch_size=10)

    assert (sent, again) == (3, 0)
    first, second, other, later = (
        FollowUp.objects.get(pk=f.pk) for f in (first, second, other, later)
    )
    assert [f.status for f in (first, second, other)] == [FollowUpStatus.SENT] * 3
    assert later.status == FollowUpStatus.SCHEDULED
    # The second follow-up on the ticket answers the first one, as two replies in a row would.
    assert first.message.in_reply_to == "<first.pat@shop.example>"
    assert second.message.in_reply_to == first.message.message_id
    assert second.message.references.split() == [
        "<first.pat@shop.example>",
        first.message.message_id,
    ]
    emails = {e.ticket_message_id: e for e in OutboundEmail.objects.all()}
    assert len(emails) == 3
    for follow_up in (first, second, other):
        email = emails[follow_up.message_id]
        # Fixed when the row is made: a resend after a crash reuses it.
        assert email.message_id == follow_up.message.message_id
        assert email.in_reply_to == follow_up.message.in_reply_to
        assert email.status == OutboundStatus.QUEUED
    assert emails[first.message_id].to == ["pat@shop.example"]
    # No author on the follow-up: sent as the ticket's assignee (or the first active agent), who
    # then owns the ticket; a new ticket the agent answered now waits on the customer.
    shoes.refresh_from_db()
    assert other.message.author_user_id == shoes.assignee_id is not None
    assert shoes.status == Status.PENDING
    parcel.refresh_from_db()
    assert parcel.assignee == cast.alice
    assert parcel.last_message_at == second.message.created_at
    assert "Tracking: 123." in parcel.search_document
    assert Message.objects.filter(ticket=parcel).count() == 3


def test_a_backlog_drains_over_parallel_connections_each_email_once(
    transactional_db, smtp_sink, settings
):
    # transactional_db: the extra lanes are threads with their own database connections, which
    # must see the committed rows.
    settings.SUPPORTDESK_MAIL_CONNECTIONS = 3
    queued = OutboundEmail.objects.bulk_create(
        build_email(to=[f"c{n}@shop.example"], subject=f"Order {n}", body_text="Shipped.")
        for n in range(130)
    )

    assert deliver_all_due() == 130

    arrived = smtp_sink.wait_for(130)
    ids = [message["Message-ID"] for message in arrived]
    assert sorted(ids) == sorted(email.message_id for email in queued)
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
    assert deliver_all_due() == 0


def test_a_batch_tells_open_pages_and_inboxes_on_the_real_channel_layer(
    db, cast, django_capture_on_commit_callbacks
):
    """After commit, each ticket's page hears of its new reply and every inbox hears once of the
    whole batch (published from a background thread, in one pipeline)."""
    import asyncio
    import threading

    from channels.layers import get_channel_layer

    from tickets import events

    parcel, _ = _ticket("pat@shop.example", "Parcel")
    shoes, _ = _ticket("sam@shop.example", "Shoes")
    due = timezone.now() - timedelta(minutes=1)
    for ticket in (parcel, shoes):
        services.schedule_follow_up(ticket, by=cast.alice, send_at=due, body="On its way.")
    groups = [events.INBOX_GROUP, events.ticket_group(parcel.pk), events.ticket_group(shoes.pk)]
    listening = threading.Event()
    caught: list[dict] = []

    def complete() -> bool:
        replied = {e["ticket_id"] for e in caught if e["type"] == "ticket.message"}
        return replied == {parcel.pk, shoes.pk} and any("ticket_ids" in e for e in caught)

    async def listen() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        for group in groups:
            await layer.group_add(group, channel)
        listening.set()
        while not complete():
            caught.append(await asyncio.wait_for(layer.receive(channel), 10))

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    assert listening.wait(10)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due_follow_ups(batch_size=10) == 2
    listener.join(15)

    assert complete()
    [batch] = [e for e in caught if "ticket_ids" in e]
    assert sorted(batch["ticket_ids"]) == sorted([parcel.pk, shoes.pk])
    replies = [e for e in caught if e["type"] == "ticket.message"]
    assert {(e["ticket_id"], e["author_type"], e["internal"]) for e in replies} == {
        (parcel.pk, "agent", False),
        (shoes.pk, "agent", False),
    }
