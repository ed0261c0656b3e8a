"""Run the whole product in the foreground: daphne, and in the embedded profile the sweeps too."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from core import sweeps

log = logging.getLogger(__name__)


def _sweep_forever(stop: threading.Event, interval: float) -> None:
    """The embedded profile's beat: same jobs as Celery beat, in the process that holds the sockets,
    so events they publish reach the in-memory channel layer's websockets."""
    while not stop.wait(interval):
        close_old_connections()
        try:
            sweeps.run_all()
        except Exception:
            log.exception("Embedded sweep failed")
        finally:
            close_old_connections()


class Command(BaseCommand):
    help = (
        "Serve Supportdesk with daphne (embedded profile: plus Celery work and sweeps in-process)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        # First: it picks the event loop and installs Twisted's asyncio reactor before the app.
        from supportdesk.server import Server  # daphne's, with less memory per socket

        from daphne.endpoints import build_endpoint_description_strings  # isort: skip

        from supportdesk.asgi import application

        stop = threading.Event()
        if settings.EMBEDDED or settings.CELERY_TASK_ALWAYS_EAGER:
            thread = threading.Thread(
                target=_sweep_forever,
                args=(stop, float(settings.SUPPORTDESK_SWEEP_SECONDS)),
                name="sweeps",
                daemon=True,
            )
            thread.start()
        url = f"http://{options['host']}:{options['port']}/"
        if settings.EMBEDDED and not os.environ.get("SITE_URL"):
            # Links in the demo's emails (CSAT survey, the wall, the console) point where it is
            # served: `PORT=8101 make demo` sends working links. Read at send time, so this holds.
            host = "localhost" if options["host"] in {"0.0.0.0", "::"} else options["host"]  # noqa: S104
            settings.SITE_URL = f"http://{host}:{options['port']}"
        self.stdout.write(f"Supportdesk ({settings.PROFILE} profile) at {url}", ending="\n")
        self.stdout.flush()
        try:
            Server(
                application=application,
                endpoints=build_endpoint_description_strings(
                    host=options["host"], port=options["port"]
                ),
                websocket_timeout=-1,  # Chats last hours (scenario 4): never time a socket out.
                ping_interval=20,
                ping_timeout=30,
                application_close_timeout=10,
                # Behind a load balancer, the client's address (rate limits) and scheme come
                # from the headers it sets; never trusted otherwise, as any client could forge them.
                **(
                    {
                        "proxy_forwarded_address_header": "X-Forwarded-For",
                        "proxy_forwarded_port_header": "X-Forwarded-Port",
                        "proxy_forwarded_proto_header": "X-Forwarded-Proto",
                    }
                    if settings.SUPPORTDESK_BEHIND_PROXY
                    else {}
                ),
            ).run()
        finally:
            stop.set()
