"""A 10,000-message backlog: fetched in bounded sweeps and batches, memory flat, nothing skipped.

Filing 10,000 tickets takes minutes on the test machine (bench/imap.py measures that rate), so the
test fetches the backlog's first few hundred in bounded sweeps and checks what holds for all of
it: each sweep takes its share and says there is more, batches stay small, memory does not grow
with the number of messages fetched, UIDs advance without a gap.
"""

from __future__ import annotations

import tracemalloc

import pytest

from mailboxes.fetch import fetch_mailbox
from mailboxes.models import MailboxFolder
from tests import factories
from tickets.models import InboundEmail, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

BACKLOG = 10_000
SIZE = 4_000  # bytes per message: 40 MB of backlog on the server


def _peak_while_fetching(mailbox_id: int, limit: int) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = fetch_mailbox(mailbox_id, limit=limit)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_a_10000_message_backlog_is_fetched_in_bounded_sweeps_with_flat_memory(
    imap_server, make_mail, settings
) -> None:
    settings.SUPPORTDESK_IMAP_BATCH = 25
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    for start in range(0, BACKLOG, 1000):
        imap_server.append(
            folder,
            *(
                make_mail(i, sender=f"c{i % 50}@customer.test", padding=SIZE)
                for i in range(start, start + 1000)
            ),
        )
    fetch_mailbox(mailbox.pk, limit=25)  # warm-up: imports, caches, the first connection

    # Each size twice, alternating; the lower peak of each counts: a one-time allocation elsewhere
    # in the process (asgiref starting an event loop thread for a realtime publish: ~3.7 MB) must
    # not pass for growth with the number of messages.
    runs = [_peak_while_fetching(mailbox.pk, limit) for limit in (40, 160, 40, 160)]
    peak_small = min(runs[0][0], runs[2][0])
    peak_large = min(runs[1][0], runs[3][0])

    for (_, result), limit in zip(runs, (40, 160, 40, 160), strict=True):
        assert (result.stored, result.more, result.error) == (limit, True, "")
    # 4x the messages in the same memory (one batch of 25 at a time), a small fraction of the
    # 40 MB the backlog would take if it were held.
    assert peak_large < peak_small * 1.5 + 256 * 1024, (peak_small, peak_large)
    assert peak_large < BACKLOG * SIZE / 10, (peak_small, peak_large)
    assert MailboxFolder.objects.get(mailbox=mailbox).last_uid == 425
    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 425
    assert Ticket.objects.filter(mailbox=mailbox).count() == 425
    flags = imap_server.flags(folder)
    assert len(flags) == BACKLOG  # nothing deleted
    assert sum(b"\\Seen" in f for f in flags.values()) == 425  # exactly those filed
