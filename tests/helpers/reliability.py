"""Shared pieces of the reliability suite (and of the tests it grew from): waiting, running calls
at once, controlling the throwaway Postgres, a slow shop and a slow SMTP sink that hold work in
flight long enough to kill a worker in the middle of it."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.helpers.servers import free_port, wait_for_port
from tests.helpers.smtp import SmtpSink


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting{': ' + what if what else ''}")
        time.sleep(0.2)
    return result


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call on its own thread (and so its own database connection), all at once."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def request(
    method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """(status, content type, text) of an HTTP call; errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            return (
                response.status,
                response.headers.get("Content-Type", ""),
                response.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def send_sweep() -> None:
    """What beat does every few seconds: ask a worker to run every sweep once."""
    from supportdesk.celery import app

    app.send_task("supportdesk.sweep")


def due_now(model: Any, *pks: int) -> None:
    """Close the undo window of these grants (worker processes have their own clock)."""
    past = timezone.now() - timedelta(seconds=1)
    model.objects.filter(pk__in=pks).update(undo_until=past, execute_after=past)


# --- the throwaway Postgres ---------------------------------------------------------------------


class PostgresControl:
    """pg_ctl on the cluster scripts/services.py started (it exports where it lives)."""

    def __init__(self) -> None:
        try:
            self.port = int(os.environ["SUPPORTDESK_TEST_PG_PORT"])
            self.bindir = Path(os.environ["SUPPORTDESK_TEST_PG_BINDIR"])
            self.data = Path(os.environ["SUPPORTDESK_TEST_SERVICES_DIR"]) / "pg" / "data"
        except KeyError:
            pytest.fail("Postgres restart tests need the throwaway cluster: run `make test`")
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def stop(self) -> None:
        connections.close_all()
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        # The options of the last start (same port, socket dir, settings), as postmaster.opts
        # recorded them: `pg_ctl start` does not reuse them by itself, only `restart` does.
        recorded = shlex.split((self.data / "postmaster.opts").read_text())
        options = [
            arg for i, arg in enumerate(recorded[1:], 1) if "-D" not in recorded[i - 1 : i + 1]
        ]
        self._pg_ctl("-w", "-l", str(self.data.parent / "log"), "-o", shlex.join(options), "start")
        wait_for_port(self.port, timeout=30)
        connections.close_all()

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Postgres down for the block; started again whatever happens, since every later test
        shares this cluster."""
        self.stop()
        try:
            yield
        finally:
            if not self.running:
                self.start()


# --- work held in flight -------------------------------------------------------------------------


class SlowShop(BaseHTTPRequestHandler):
    """A shop's grant webhook that holds the first request long enough to kill the worker."""

    keys: list[str] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).keys.append(self.headers["Idempotency-Key"])
        first = len(type(self).keys) == 1
        type(self).arrived.set()
        if first:
            time.sleep(5)
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps({"reference": "shop-ref"}).encode())
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slow_shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    SlowShop.keys, SlowShop.arrived = [], threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowShop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Read by the worker processes started after this fixture.
    monkeypatch.setenv("SUPPORTDESK_COMMERCE_BACKEND", "webhook")
    monkeypatch.setenv(
        "SUPPORTDESK_COMMERCE_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/g"
    )
    monkeypatch.setenv("SUPPORTDESK_COMMERCE_WEBHOOK_SECRET", "shop-secret")
    yield server
    server.shutdown()


@pytest.fixture
def slow_smtp() -> Iterator[SmtpSink]:
    """An SMTP sink that takes 0.15 s to answer each message, after it has received it: a worker
    killed meanwhile has delivered the message without recording it (the in-flight window)."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            import asyncio

            parsed: EmailMessage = message_from_bytes(  # type: ignore[assignment]
                envelope.original_content or envelope.content, policy=policy.default
            )
            sink.receive(parsed, envelope.mail_from, envelope.rcpt_tos)
            await asyncio.sleep(0.15)
            return "250 OK"

    controller = Controller(Handler(), hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
