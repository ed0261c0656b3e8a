"""The SMTP sink tests read delivered mail from (the `smtp_server` and `smtp_sink` fixtures in
tests/conftest.py start it): wait for mail with `wait_for` / `wait_until`, never a fixed sleep.
No Django import here: tests/conftest.py imports it before any test runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage


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
