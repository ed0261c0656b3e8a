"""Replies to a mailbox's tickets go out From its address, through its SMTP (else the global)."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from mailboxes.fetch import fetch_mailbox
from mailboxes.services import SmtpSettings, update_mailbox
from mailer.delivery import deliver_all_due
from mailer.models import OutboundEmail, OutboundStatus
from tests import factories
from tickets import services
from tickets.inbound import ingest_raw_email
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_goes_out_from_the_mailbox_through_its_smtp(
    cast, imap_server, make_mail, mailbox_smtp, smtp_sink
) -> None:
    folder = imap_server.new_folder()
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=mailbox_smtp.port,
        username="shop-smtp-user",
        password="shop-smtp-pw",
        security="none",
    )
    mailbox = factories.mailbox(imap_server, folder, address="help@shop.test", smtp=smtp)
    imap_server.append(folder, make_mail("r1"))
    fetch_mailbox(mailbox.pk)
    ticket = Ticket.objects.get(mailbox=mailbox)
    other = Ticket.objects.get(pk=ingest_raw_email(make_mail("r2"), source="webhook").ticket_id)

    services.add_agent_reply(ticket, by=cast.alice, body_text="A new pair is on its way.")
    services.add_agent_reply(other, by=cast.alice, body_text="Through the global server.")
    services.schedule_follow_up(
        ticket, by=cast.alice, send_at=timezone.now() - timedelta(seconds=1), body="Arrived?"
    )
    services.send_due_follow_ups()
    deliver_all_due()

    sent = mailbox_smtp.wait_for(2)
    assert {login for _, _, _, login in sent} == {"shop-smtp-user"}
    for mail_from, rcpt, raw, _ in sent:
        message = message_from_bytes(raw, policy=policy.default)
        assert mail_from == "help@shop.test" and rcpt == ["dana@customer.test"]
        assert message["From"].addresses[0].addr_spec == "help@shop.test"
        assert message["Reply-To"] == "help@shop.test"
        assert "<mr1@customer.test>" in message["References"]
    global_mail = smtp_sink.wait_for(1)
    assert global_mail[0]["To"] == "dana@customer.test"
    assert "help@shop.test" not in global_mail[0]["From"]
    assert OutboundEmail.objects.filter(transport=f"mailbox:{mailbox.pk}").count() == 2


def test_without_its_own_smtp_a_mailbox_replies_through_the_global_server_from_its_address(
    cast, imap_server, make_mail, smtp_sink
) -> None:
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder, address="orders@shop.test")
    imap_server.append(folder, make_mail("g1"))
    fetch_mailbox(mailbox.pk)

    services.add_agent_reply(Ticket.objects.get(mailbox=mailbox), by=cast.alice, body_text="On it.")
    deliver_all_due()

    [message] = smtp_sink.wait_for(1)
    assert message["From"].addresses[0].addr_spec == "orders@shop.test"


def test_a_mailbox_smtp_that_is_down_retries_visibly_then_sends_the_same_email(
    cast, imap_server, make_mail, mailbox_smtp, closed_port
) -> None:
    folder = imap_server.new_folder()
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=closed_port,
        username="shop-smtp-user",
        password="shop-smtp-pw",
        security="none",
    )
    mailbox = factories.mailbox(imap_server, folder, smtp=smtp)
    imap_server.append(folder, make_mail("w1"))
    fetch_mailbox(mailbox.pk)
    services.add_agent_reply(Ticket.objects.get(mailbox=mailbox), by=cast.alice, body_text="Hi")

    deliver_all_due()

    email = OutboundEmail.objects.get()
    assert email.status == OutboundStatus.QUEUED and email.attempts == 1
    assert "refused" in email.last_error.lower()
    assert "shop-smtp-pw" not in email.last_error
    # Fixed: the queued email goes out through the corrected settings, same Message-ID.
    update_mailbox(
        mailbox, smtp_settings=SmtpSettings(**{**smtp.__dict__, "port": mailbox_smtp.port})
    )
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    deliver_all_due()
    [(_, _, raw, login)] = mailbox_smtp.wait_for(1)
    assert email.message_id.encode() in raw and login == "shop-smtp-user"
