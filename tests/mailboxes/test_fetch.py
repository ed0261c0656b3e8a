"""Fetching a real Dovecot's mail into tickets: raw first, threaded, deduplicated, then \\Seen."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.utils import timezone

from mailboxes.fetch import fetch_all, fetch_mailbox
from mailboxes.models import Mailbox, MailboxFolder
from mailboxes.services import ImapSettings, update_mailbox
from mailboxes.sweeps import fetch_mailboxes
from tests import factories
from tickets.models import InboundEmail, InboundStatus, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"


@pytest.fixture(autouse=True)
def _quick_timeouts(settings) -> None:
    settings.SUPPORTDESK_IMAP_TIMEOUT = 2


def test_sweep_turns_new_mail_into_tickets_then_marks_it_seen(imap_server, make_mail) -> None:
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    imap_server.append(
        folder,
        make_mail(1),
        make_mail(2, sender="erin@customer.test", subject="Where is my parcel?"),
        make_mail(3, subject="Re: Order problem 1", in_reply_to="<m1@customer.test>"),
    )

    call_command("sweep")

    tickets = Ticket.objects.filter(mailbox=mailbox).order_by("id")
    assert [t.subject for t in tickets] == ["Order problem 1", "Where is my parcel?"]
    assert tickets[0].messages.count() == 2  # the reply threaded onto the first ticket
    inbound = InboundEmail.objects.filter(mailbox=mailbox)
    assert inbound.count() == 3
    assert {row.source for row in inbound} == {"imap"}
    assert {row.status for row in inbound} == {InboundStatus.PROCESSED}
    flags = imap_server.flags(folder)
    assert len(flags) == 3  # nothing deleted or moved on the server
    assert all(SEEN in f for f in flags.values())
    mailbox.refresh_from_db()
    assert mailbox.fetched == 3
    assert mailbox.last_error == ""
    assert mailbox.last_fetch_at is not None


def test_the_next_sweep_fetches_only_what_is_new(imap_server, make_mail) -> None:
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    imap_server.append(folder, make_mail(10))
    fetch_mailboxes()
    imap_server.append(folder, make_mail(11))

    assert fetch_mailboxes() == 1

    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 2
    state = MailboxFolder.objects.get(mailbox=mailbox)
    assert state.last_uid == max(imap_server.flags(folder))


def test_mail_read_by_a_person_before_the_fetch_still_becomes_a_ticket(
    imap_server, make_mail
) -> None:
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    imap_server.append(folder, make_mail(20))
    with imap_server.client() as client:
        client.select_folder(folder)
        client.add_flags(client.search("ALL"), [SEEN])

    fetch_mailboxes()

    assert Ticket.objects.filter(mailbox=mailbox).count() == 1


def test_failing_mailboxes_record_errors_back_off_and_hold_up_nobody(
    imap_server, make_mail, closed_port, silent_server
) -> None:
    folder = imap_server.new_folder()
    wrong_password = factories.mailbox(imap_server, folder, password="not-the-password")
    host_down = factories.mailbox(imap_server, folder, port=closed_port)
    hung = factories.mailbox(imap_server, folder, port=silent_server)
    tls_mismatch = factories.mailbox(imap_server, folder, security="ssl")  # plain server
    good = factories.mailbox(imap_server, folder)
    imap_server.append(folder, make_mail(30))

    results = {r.mailbox_id: r for r in fetch_all()}

    assert Ticket.objects.filter(mailbox=good).count() == 1
    assert results[good.pk].error == ""
    errors = {
        m.pk: Mailbox.objects.get(pk=m.pk) for m in (wrong_password, host_down, hung, tls_mismatch)
    }
    assert "Login failed" in errors[wrong_password.pk].last_error
    assert "refused" in errors[host_down.pk].last_error
    assert "timed out" in errors[hung.pk].last_error
    assert "TLS" in errors[tls_mismatch.pk].last_error
    for mailbox in errors.values():
        assert mailbox.failures == 1
        assert mailbox.next_try_at > timezone.now()
        assert "not-the-password" not in mailbox.last_error
        assert "imap-test-password" not in mailbox.last_error
    # Backing off: the next sweep leaves them alone and fetches only the good one.
    assert {r.mailbox_id for r in fetch_all()} == {good.pk}
    # Fixing the password clears the error and the backoff; the mail is fetched once.
    update_mailbox(
        wrong_password,
        imap_settings=ImapSettings(
            host=imap_server.host,
            port=imap_server.port,
            username=imap_server.user,
            password=imap_server.password,
            security="none",
            folder=folder,
        ),
    )
    fetch_all()
    wrong_password.refresh_from_db()
    assert wrong_password.last_error == "" and wrong_password.failures == 0
    assert InboundEmail.objects.count() == 1  # the same message through two mailboxes: once
    assert Ticket.objects.count() == 1


def test_a_connection_dropped_mid_fetch_is_fetched_again_later_once(
    imap_server, make_mail, cutting_proxy, settings
) -> None:
    settings.SUPPORTDESK_IMAP_BATCH = 2
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder, port=cutting_proxy.port)
    imap_server.append(folder, *(make_mail(f"drop{i}") for i in range(5)))
    # The server goes away after the first batch's tickets are committed, before their \Seen.
    cutting_proxy.cut_on = b"STORE"

    result = fetch_mailbox(mailbox.pk)

    assert cutting_proxy.cuts == 1
    assert "dropped" in result.error
    assert Ticket.objects.filter(mailbox=mailbox).count() == 2  # committed, kept
    assert not any(SEEN in f for f in imap_server.flags(folder).values())

    cutting_proxy.cut_on = None
    Mailbox.objects.filter(pk=mailbox.pk).update(next_try_at=None)
    result = fetch_mailbox(mailbox.pk)

    assert result.error == ""
    assert result.duplicates == 2 and result.stored == 3
    assert Ticket.objects.filter(mailbox=mailbox).count() == 5  # each message once
    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 5
    assert all(SEEN in f for f in imap_server.flags(folder).values())


def test_a_uidvalidity_change_refetches_without_duplicates(imap_server, make_mail) -> None:
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    first = [make_mail(f"uv{i}") for i in range(3)]
    imap_server.append(folder, *first)
    fetch_mailboxes()
    before = MailboxFolder.objects.get(mailbox=mailbox).uidvalidity
    # The folder is rebuilt (a server migration, a restored backup): new UIDVALIDITY, same mail.
    with imap_server.client() as client:
        client.delete_folder(folder)
        client.create_folder(folder)
    imap_server.append(folder, *first, make_mail("uv-new"))

    fetch_mailboxes()

    state = MailboxFolder.objects.get(mailbox=mailbox)
    assert state.uidvalidity != before
    assert Ticket.objects.filter(mailbox=mailbox).count() == 4
    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 4
    assert all(SEEN in f for f in imap_server.flags(folder).values())


def test_an_oversize_message_is_kept_raw_flagged_and_blocks_nothing(
    imap_server, make_mail, settings
) -> None:
    settings.SUPPORTDESK_MAX_INBOUND_BYTES = 50_000
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    big = make_mail("big", padding=120_000)
    imap_server.append(folder, make_mail("small1"), big, make_mail("small2"))

    fetch_mailboxes()

    assert Ticket.objects.filter(mailbox=mailbox).count() == 2
    kept = InboundEmail.objects.get(mailbox=mailbox, message_id="<mbig@customer.test>")
    assert kept.status == InboundStatus.FAILED
    assert bytes(kept.raw) == big
    assert "size limit" in kept.error
    flags = imap_server.flags(folder)
    uids = sorted(flags)
    assert SEEN in flags[uids[0]] and SEEN in flags[uids[2]]
    assert FLAGGED in flags[uids[1]] and SEEN not in flags[uids[1]]
    # Fetched once: the next sweep neither stores it again nor stops on it.
    imap_server.append(folder, make_mail("small3"))
    fetch_mailboxes()
    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 4
    assert Ticket.objects.filter(mailbox=mailbox).count() == 3


def test_concurrent_fetchers_create_each_ticket_once(imap_server, make_mail, settings) -> None:
    settings.SUPPORTDESK_IMAP_BATCH = 5
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    imap_server.append(
        folder, *(make_mail(f"c{i}", sender=f"c{i}@customer.test") for i in range(40))
    )
    # A second mailbox row on the same folder: no lock in common, only the dedupe record.
    twin = factories.mailbox(imap_server, folder)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def fetch(mailbox_id: int) -> None:
        from django.db import connection

        try:
            start.wait()
            fetch_mailbox(mailbox_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch, args=(m.pk,)) for m in [mailbox] * 3 + [twin] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert InboundEmail.objects.count() == 40
    assert Ticket.objects.count() == 40
    assert all(SEEN in f for f in imap_server.flags(folder).values())
