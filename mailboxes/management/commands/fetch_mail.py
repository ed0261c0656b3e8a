"""python manage.py fetch_mail [--forever]: fetch every active mailbox once, or keep IMAP IDLE
connections open for near-instant arrival (the docker-compose `mail` service)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mailboxes.fetch import fetch_all
from mailboxes.idle import Supervisor


class Command(BaseCommand):
    help = "Fetch mail from the shop mailboxes (once, or --forever with IMAP IDLE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--forever",
            action="store_true",
            help="Hold one IMAP IDLE connection per active mailbox until stopped (SIGTERM/Ctrl-C)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["forever"]:
            for result in fetch_all():
                state = result.error or result.skipped or "ok"
                self.stdout.write(
                    f"mailbox {result.mailbox_id}: {result.stored} stored, "
                    f"{result.duplicates} already stored, {result.unfiled} kept unfiled"
                    f"{' (more waiting)' if result.more else ''}: {state}"
                )
            return
        supervisor = Supervisor()

        def stop(signum: int, frame: object) -> None:
            supervisor.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Fetching mail with IMAP IDLE; SIGTERM or Ctrl-C stops.", ending="\n")
        self.stdout.flush()
        supervisor.run_forever()
