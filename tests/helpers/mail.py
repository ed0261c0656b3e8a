"""Proving that nothing more arrives at the SMTP sink: drain the outbox to a marker.

A marker email is queued behind everything queued so far and goes out through the same outbox
(a task after commit, or the next sweep), which sends due rows in order. Once the marker has
arrived, a second copy of anything queued before it would have arrived too: no fixed sleep.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from mailer.services import build_email, queue_email

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
