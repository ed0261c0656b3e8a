"""`manage.py retry_inbound [--id N]`: file inbound mail that failed (after a fix, or a blip)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.inbound import reprocess
from tickets.models import InboundEmail, InboundStatus


class Command(BaseCommand):
    help = "Re-process failed inbound emails (all of them, or one with --id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, dest="inbound_id", help="Only this InboundEmail")
        parser.add_argument("--limit", type=int, default=500, help="At most this many (all mode)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["inbound_id"] is not None:
            inbound = InboundEmail.objects.filter(pk=options["inbound_id"]).first()
            if inbound is None:
                raise CommandError(f"No inbound email with id {options['inbound_id']}")
            rows = [inbound]
        else:
            rows = list(
                InboundEmail.objects.filter(status=InboundStatus.FAILED)
                .order_by("received_at", "id")
                .only("pk")[: options["limit"]]
            )
        still_failed = 0
        for inbound in rows:
            result = reprocess(inbound)
            if result.status == InboundStatus.FAILED:
                still_failed += 1
                self.stderr.write(f"inbound {result.inbound_id}: still failing: {result.error}")
            else:
                self.stdout.write(f"inbound {result.inbound_id}: ticket {result.ticket_id}")
        self.stdout.write(f"{len(rows) - still_failed} filed, {still_failed} still failing")
        if still_failed:
            raise CommandError(f"{still_failed} inbound email(s) still failing", returncode=1)
