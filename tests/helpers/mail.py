"""The SMTP sink tests read mail from (the `smtp_server`/`smtp_sink` fixtures in tests/conftest.py
start it), and proving that nothing more arrives at it: drain the outbox to a marker.

A marker email is queued behind everything queued so far and goes out through the same outbox
(a task after commit, or the next sweep), which sends due rows in order. Once the marker has
arrived, a second copy of anything queued before it would have arrived too: no fixed sleep.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from mailer.services import build_email, queue_email


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def receive(self, message: EmailMessage, mail_from: str, rcpt_tos: list[str]) -> None:
        """Record one delivered message (the SMTP handler's side) and wake every waiter."""
        with self._cond:
            self.messages.append(message)
            self.envelopes.append((mail_from, list(rcpt_tos)))
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget what arrived so far (a test starts from an empty sink)."""
        with self._cond:
            self.messages.clear()
            self.envelopes.clear()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; all of them so far."""
        return self.wait_until(
            lambda messages: len(messages) >= count,
            timeout,
            lambda: f"expected {count} emails at the SMTP sink, got {len(self.messages)}",
        )

    def wait_until(
        self,
        done: Callable[[list[EmailMessage]], bool],
        timeout: float = 15.0,
        failure: Callable[[], str] | None = None,
    ) -> list[EmailMessage]:
        """Wait until `done(messages so far)` holds; those messages. Woken by each arrival."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done(list(self.messages)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        failure() if failure else f"SMTP sink: timed out with {len(self.messages)}"
                    )
                self._cond.wait(remaining)
            return list(self.messages)


MARKER_TO = "marker@sink.test"


def drain_to_marker(
    sink: Any, *, deliver: Callable[[], None] | None = None, timeout: float = 30.0
) -> list[EmailMessage]:
    """Queue a marker, let it be delivered (`deliver`, e.g. a sweep, when the after-commit task
    alone would not), wait for it; every other message at the sink (the marker left out)."""
    subject = f"Marker {uuid.uuid4().hex}"
    queue_email(build_email(to=[MARKER_TO], subject=subject, body_text="Nothing after this."))
    if deliver is not None:
        deliver()
    messages = sink.wait_until(
        lambda arrived: any(m["Subject"] == subject for m in arrived),
        timeout,
        lambda: f"the marker email never reached the SMTP sink ({len(sink.messages)} arrived)",
    )
    return [m for m in messages if m["Subject"] != subject]
