"""`manage.py fetch_mail --forever`: IMAP IDLE brings new mail in within seconds, alongside sweeps."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from mailboxes.services import set_active
from mailboxes.sweeps import fetch_mailboxes
from tests import factories
from tests.helpers.servers import ROOT, server_env
from tickets.models import InboundEmail, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(predicate, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def fetch_mail_forever(tmp_path):
    log = (tmp_path / "fetch_mail.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "fetch_mail", "--forever"],
        cwd=ROOT,
        env=server_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process, tmp_path / "fetch_mail.log"
    if process.poll() is None:
        process.kill()
        process.wait(5)


def test_idle_files_new_mail_within_seconds_and_shares_the_mailbox_with_sweeps(
    imap_server, make_mail, fetch_mail_forever
) -> None:
    process, log = fetch_mail_forever
    folder = imap_server.new_folder()
    mailbox = factories.mailbox(imap_server, folder)
    imap_server.append(folder, make_mail("before"))  # waiting before the worker starts
    _wait_for(lambda: Ticket.objects.filter(mailbox=mailbox).count() == 1, timeout=30)

    imap_server.append(folder, make_mail("idle1"))
    took = _wait_for(lambda: Ticket.objects.filter(mailbox=mailbox).count() == 2)
    assert took < 10, log.read_text()

    # Mail arriving while sweeps run too: both fetch, each message is filed once.
    for i in range(10):
        imap_server.append(folder, make_mail(f"race{i}"))
        fetch_mailboxes()
    _wait_for(lambda: Ticket.objects.filter(mailbox=mailbox).count() == 12)
    time.sleep(1)
    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 12
    assert all(b"\\Seen" in f for f in imap_server.flags(folder).values())

    # Paused: the worker lets go within a reload; new mail waits on the server.
    set_active(mailbox, active=False)
    time.sleep(12)
    imap_server.append(folder, make_mail("paused"))
    time.sleep(3)
    assert Ticket.objects.filter(mailbox=mailbox).count() == 12

    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0, log.read_text()
