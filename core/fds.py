"""File descriptors of this process: how many are open, the limit, and visitor-socket admission.

One visitor token once opened idle chat sockets until the process ran out of descriptors; then
logins, inbound mail and agents' sockets failed too. Visitor sockets are therefore capped per
visitor (conversation), per client address and per process, leaving SUPPORTDESK_AGENT_FD_RESERVE
descriptors for agents, the database, Redis and HTTP; `/healthz` reports how many are left.
Counts are per process, as descriptors are.
"""

from __future__ import annotations

import collections
import os
import resource

from django.conf import settings

_by_visitor: collections.Counter[int] = collections.Counter()
_by_address: collections.Counter[str] = collections.Counter()
_visitors = 0


def limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1_000_000


def open_count() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None  # not Linux: unknown


def report() -> dict[str, object]:
    """For /healthz: ok while at least SUPPORTDESK_FD_MIN_FREE descriptors are free."""
    opened, most = open_count(), limit()
    if opened is None:
        return {"ok": True, "limit": most, "visitor_sockets": _visitors}
    free = most - opened
    return {
        "ok": free >= settings.SUPPORTDESK_FD_MIN_FREE,
        "open": opened,
        "limit": most,
        "free": free,
        "visitor_sockets": _visitors,
        **(
            {}
            if free >= settings.SUPPORTDESK_FD_MIN_FREE
            else {"error": "file descriptors exhausted"}
        ),
    }


def admit_visitor(conversation_id: int, address: str) -> str:
    """'' when a visitor socket may open (and count it), else the refusal's code."""
    global _visitors
    if _by_visitor[conversation_id] >= settings.SUPPORTDESK_MAX_SOCKETS_PER_VISITOR:
        return "too_many_sockets"
    if address and _by_address[address] >= settings.SUPPORTDESK_MAX_SOCKETS_PER_IP:
        return "too_many_sockets"
    if _visitors >= limit() - settings.SUPPORTDESK_AGENT_FD_RESERVE:
        return "server_busy"
    _by_visitor[conversation_id] += 1
    if address:
        _by_address[address] += 1
    _visitors += 1
    return ""


def release_visitor(conversation_id: int, address: str) -> None:
    global _visitors
    _visitors = max(0, _visitors - 1)
    _by_visitor[conversation_id] -= 1
    if _by_visitor[conversation_id] <= 0:
        del _by_visitor[conversation_id]
    if address:
        _by_address[address] -= 1
        if _by_address[address] <= 0:
            del _by_address[address]
