"""The one realtime choke point: services publish events here, only after their transaction commits.

A channel layer is a delivery hint, never the record (TRAPS.md): clients that miss an event resync
from the database, so a publish that fails is logged, not raised into the request that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def group_send(group: str, event: Mapping[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, dict(event))
    except Exception:
        log.warning("Could not publish %s to %s", event.get("type"), group, exc_info=True)


def send_event_on_commit(group: str, event: Mapping[str, Any]) -> None:
    """Publish `event` to `group` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: group_send(group, event))
