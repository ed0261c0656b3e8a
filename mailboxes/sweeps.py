from __future__ import annotations

from django.conf import settings

from core.sweeps import register
from mailboxes.fetch import fetch_all

# Bounded per sweep (sweeps.py's rule): a 10,000-message backlog is fetched over several sweeps,
# SUPPORTDESK_IMAP_SWEEP_LIMIT messages (and about SWEEP_SECONDS) per mailbox at a time.
SWEEP_SECONDS = 30.0


@register("mailboxes")
def fetch_mailboxes() -> int:
    """Fetch every active mailbox once; returns the messages stored."""
    results = fetch_all(limit=settings.SUPPORTDESK_IMAP_SWEEP_LIMIT, max_seconds=SWEEP_SECONDS)
    return sum(r.stored for r in results)
