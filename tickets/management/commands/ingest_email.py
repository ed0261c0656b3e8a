"""`manage.py ingest_email < message.eml`: the MTA pipe. Reads one raw message on stdin.

Exit status follows sysexits so an MTA does the right thing: 0 stored and filed, 65 (EX_DATAERR)
stored but unparseable (an admin reviews it; retrying would not help), 75 (EX_TEMPFAIL) when we
could not even store it, so the MTA keeps the mail and retries.
"""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tickets.inbound import ingest_raw_email
from tickets.models import InboundStatus

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Ingest one raw RFC 822 message read from stdin (for an MTA pipe)."
    # Tests pass a bytes stream instead of the process's stdin.
    stealth_options = ("stdin",)

    def handle(self, *args: Any, **options: Any) -> None:
        stream: BinaryIO = options.get("stdin") or sys.stdin.buffer
        limit = settings.SUPPORTDESK_MAX_INBOUND_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            # Like the webhook's 413: refused before storing, the MTA bounces it to the sender.
            raise CommandError(
                f"ingest_email: message is over the {limit:,}-byte limit; not stored",
                returncode=EX_DATAERR,
            )
        try:
            result = ingest_raw_email(raw, source="pipe")
        except Exception as exc:
            raise CommandError(
                f"ingest_email: could not store the message ({exc}); try again later",
                returncode=EX_TEMPFAIL,
            ) from exc
        if result.status == InboundStatus.FAILED or result.ticket_id is None:
            raise CommandError(
                f"ingest_email: stored as inbound {result.inbound_id} but not filed: {result.error}",
                returncode=EX_DATAERR,
            )
        what = "duplicate of" if result.duplicate else ("new" if result.created else "reply on")
        self.stdout.write(
            f"inbound {result.inbound_id}: {what} ticket {result.ticket_id} "
            f"(message {result.message_id})"
        )
