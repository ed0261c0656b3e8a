"""Out of hours, a customer who writes in gets ONE email saying when someone will answer:
threaded into the ticket, marked Auto-Submitted, never to automatic mail, lists, bounces,
no-reply senders or spam, at most once per customer per day (decided by a unique row)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hours import acknowledgements, services
from hours.models import Acknowledgement
from mailboxes.fetch import fetch_mailbox
from mailer.delivery import deliver_all_due
from mailer.models import OutboundEmail
from tests import factories
from tests.helpers.inbound import build_email, post_raw
from tests.helpers.reliability import in_parallel
from tickets import spam
from tickets.models import Ticket

WEEK = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
FRIDAY_EVENING = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 in Madrid
MONDAY_MORNING = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Madrid: open


@pytest.fixture
def madrid(cast) -> services.Hours:
    return services.set_hours(timezone="Europe/Madrid", week=WEEK, holidays=[], by=cast.dave)


@pytest.fixture
def friday_evening(madrid, time_machine):
    time_machine.move_to(FRIDAY_EVENING, tick=True)
    return FRIDAY_EVENING


def _mail_in(commit, **kwargs) -> Ticket:
    """A customer's email through the signed inbound webhook, its after-commit work run."""
    with commit(execute=True):
        response = post_raw(Client(), build_email(**kwargs).as_bytes())
    assert response.status_code == 202, response.content
    return Ticket.objects.get(pk=response.json()["ticket_id"])


def _acks(ticket: Ticket) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(ticket_id=ticket.pk))


def test_an_email_out_of_hours_gets_one_threaded_acknowledgement_at_the_smtp_sink(
    friday_evening, smtp_sink, django_capture_on_commit_callbacks
) -> None:
    ticket = _mail_in(
        django_capture_on_commit_callbacks,
        sender="Pat Customer <pat@shop.example>",
        subject="Where are my shoes?",
        message_id="<first@shop.example>",
    )
    deliver_all_due()

    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "pat@shop.example"
    assert mail["Subject"] == f"We got your message: Where are my shoes? [#{ticket.reference}]"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == "<first@shop.example>"
    assert "<first@shop.example>" in mail["References"]
    assert mail["X-Supportdesk-Ticket"] == ticket.reference
    assert ticket.reference in mail["Reply-To"]
    text = mail.get_body(("plain",)).get_content()
    # Friday 20:00 in Madrid: back on Monday at 09:00 Madrid time, said in words and time.
    assert "We open again on Monday 7 December at 09:00 (Europe/Madrid time)" in text
    assert "Hello Pat Customer," in text
    html = mail.get_body(("html",)).get_content()
    assert "Monday 7 December at 09:00" in html
    ack = Acknowledgement.objects.get()
    assert (ack.ticket_id, ack.day) == (ticket.pk, date(2026, 12, 4))
    assert ack.opens_at == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_the_ack_says_today_or_tomorrow_in_words(madrid, time_machine, cast) -> None:
    customer = factories.CustomerFactory(email="early@shop.example")
    ticket = factories.TicketFactory(customer=customer)
    time_machine.move_to(datetime(2026, 12, 3, 6, 0, tzinfo=UTC), tick=True)  # Thu 07:00 Madrid
    acknowledgements.acknowledge_out_of_hours(ticket_id=ticket.pk)
    assert "We open again today at 09:00" in OutboundEmail.objects.get().body_text

    late = factories.TicketFactory(customer=factories.CustomerFactory(email="late@shop.example"))
    time_machine.move_to(datetime(2026, 12, 2, 21, 0, tzinfo=UTC), tick=True)  # Wed 22:00
    acknowledgements.acknowledge_out_of_hours(ticket_id=late.pk)
    body = OutboundEmail.objects.get(ticket_id=late.pk).body_text
    assert "We open again tomorrow, Thursday 3 December, at 09:00" in body


def test_nothing_is_sent_while_open(madrid, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(MONDAY_MORNING, tick=True)
    ticket = _mail_in(django_capture_on_commit_callbacks, sender="pat@shop.example")
    assert _acks(ticket) == []
    assert not Acknowledgement.objects.exists()


def test_nothing_is_sent_when_no_hours_are_set(db, django_capture_on_commit_callbacks) -> None:
    ticket = _mail_in(django_capture_on_commit_callbacks, sender="pat@shop.example")
    assert _acks(ticket) == []


def test_at_most_one_a_day_per_customer_then_again_the_next_day(
    friday_evening, time_machine, django_capture_on_commit_callbacks
) -> None:
    first = _mail_in(django_capture_on_commit_callbacks, sender="pat@shop.example", subject="A")
    second = _mail_in(django_capture_on_commit_callbacks, sender="pat@shop.example", subject="B")
    other = _mail_in(django_capture_on_commit_callbacks, sender="sam@shop.example", subject="C")
    assert len(_acks(first)) == 1
    assert _acks(second) == []  # the same customer, the same (Madrid) day
    assert len(_acks(other)) == 1  # another customer gets theirs

    time_machine.move_to(FRIDAY_EVENING + timedelta(days=1), tick=True)  # Saturday: closed
    third = _mail_in(django_capture_on_commit_callbacks, sender="pat@shop.example", subject="D")
    assert len(_acks(third)) == 1
    assert Acknowledgement.objects.filter(customer=first.customer).count() == 2


def test_a_reply_on_an_open_ticket_is_not_acknowledged(
    friday_evening, django_capture_on_commit_callbacks
) -> None:
    first = _mail_in(
        django_capture_on_commit_callbacks, sender="pat@shop.example", message_id="<a@shop.example>"
    )
    Acknowledgement.objects.all().delete()  # even without today's row, a reply gets nothing
    again = _mail_in(
        django_capture_on_commit_callbacks,
        sender="pat@shop.example",
        subject="Re: Where are my shoes?",
        in_reply_to="<a@shop.example>",
    )
    assert again.pk == first.pk
    assert len(_acks(first)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_mails_racing_in_send_one_acknowledgement(madrid, time_machine) -> None:
    time_machine.move_to(FRIDAY_EVENING, tick=True)
    customer = factories.CustomerFactory(email="racer@shop.example")
    tickets = [factories.TicketFactory(customer=customer) for _ in range(4)]
    results = in_parallel(
        [lambda t=t: acknowledgements.acknowledge_out_of_hours(ticket_id=t.pk) for t in tickets]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len([r for r in results if r is not None]) == 1
    assert Acknowledgement.objects.count() == 1
    assert OutboundEmail.objects.filter(to__contains=["racer@shop.example"]).count() == 1


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("pat@shop.example", {"Auto-Submitted": "auto-replied"}),
        ("pat@shop.example", {"Auto-Submitted": "auto-generated"}),
        ("pat@shop.example", {"X-Autoreply": "yes"}),
        ("pat@shop.example", {"X-Auto-Response-Suppress": "All"}),
        ("pat@shop.example", {"Precedence": "bulk"}),
        ("pat@shop.example", {"Precedence": "list"}),
        ("pat@shop.example", {"Precedence": "junk"}),
        ("pat@shop.example", {"List-Id": "<news.shop.example>"}),
        ("pat@shop.example", {"List-Unsubscribe": "<mailto:unsub@shop.example>"}),
        ("pat@shop.example", {"Return-Path": "<>"}),
        ("MAILER-DAEMON@mx.shop.example", {}),
        ("postmaster@shop.example", {}),
        ("noreply@shop.example", {}),
        ("no-reply@shop.example", {}),
        ("do-not-reply@shop.example", {}),
        ("bounce+123@shop.example", {}),
    ],
)
def test_never_answers_automatic_mail_lists_bounces_or_no_reply_senders(
    friday_evening, django_capture_on_commit_callbacks, sender, headers
) -> None:
    ticket = _mail_in(django_capture_on_commit_callbacks, sender=sender, headers=headers)
    assert _acks(ticket) == []
    assert not Acknowledgement.objects.exists()


def test_a_person_who_sets_auto_submitted_no_is_answered(
    friday_evening, django_capture_on_commit_callbacks
) -> None:
    ticket = _mail_in(
        django_capture_on_commit_callbacks,
        sender="pat@shop.example",
        headers={"Auto-Submitted": "no"},
    )
    assert len(_acks(ticket)) == 1


def test_never_answers_blocked_senders_or_spam(
    friday_evening, cast, django_capture_on_commit_callbacks
) -> None:
    spam.block_sender("spammy.example", by=cast.dave)
    blocked = _mail_in(django_capture_on_commit_callbacks, sender="win@spammy.example")
    assert blocked.status == "spam"
    assert _acks(blocked) == []

    marked = factories.TicketFactory(customer=factories.CustomerFactory(email="pat@shop.example"))
    spam.mark_spam(marked, by=cast.alice)
    assert acknowledgements.acknowledge_out_of_hours(ticket_id=marked.pk) is None
    assert not Acknowledgement.objects.exists()


def test_the_web_form_and_the_widgets_offline_form_are_acknowledged(
    friday_evening, django_capture_on_commit_callbacks
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/support/new",
            {"name": "Ben", "email": "ben@shop.example", "subject": "Sizes",
             "message": "Do the shoes run small?", "website": ""},
        )  # fmt: skip
    assert response.status_code == 302
    web = Ticket.objects.get(subject="Sizes")
    [row] = _acks(web)
    assert row.extra_headers["Auto-Submitted"] == "auto-replied"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/widget/offline",
            data=json.dumps(
                {"name": "Ana", "email": "ana@shop.example", "message": "Do you ship to Norway?"}
            ),
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    offline = Ticket.objects.get(reference=response.json()["reference"])
    [row] = _acks(offline)
    assert row.to == ["ana@shop.example"]
    assert "Monday 7 December at 09:00" in row.body_text


def test_a_bot_filling_the_honeypot_gets_nothing(
    friday_evening, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            "/support/new",
            {"name": "Bot", "email": "bot@shop.example", "subject": "Hi", "message": "Buy",
             "website": "http://spam.example"},
        )  # fmt: skip
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_mail_fetched_from_an_imap_mailbox_is_acknowledged_from_that_mailbox(
    cast, imap_server
) -> None:
    # Closed now whatever the real clock says: open only on a weekday two days from now.
    two_days = (timezone.now() + timedelta(days=2)).astimezone(UTC)
    day = services.DAYS[two_days.weekday()]
    services.set_hours(timezone="UTC", week={day: [["09:00", "17:00"]]}, holidays=[], by=None)
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder, address="help@shop.test")
    imap_server.append(
        folder, build_email(sender="Kim <kim@shop.example>", to="help@shop.test").as_bytes()
    )
    fetch_mailbox(mailbox.pk)
    ticket = Ticket.objects.get(mailbox=mailbox)
    [row] = OutboundEmail.objects.filter(ticket_id=ticket.pk)
    assert row.transport == f"mailbox:{mailbox.pk}"
    assert "help@shop.test" in row.from_email
    assert row.reply_to == "help@shop.test"
    assert re.search(rf"We open again (tomorrow, |on ){two_days:%A}", row.body_text)
