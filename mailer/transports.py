"""Which SMTP server an email goes through. `OutboundEmail.transport` names it: "" is the global
one (EMAIL_*), "<kind>:<key>" asks the resolver an app registered for <kind> (in its
`AppConfig.ready()`) for the server's settings, at send time, so a queued email follows a
changed configuration and a resend after a crash goes the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

log = logging.getLogger(__name__)

# Keyword arguments for Django's SMTP EmailBackend (host, port, username, password, use_tls,
# use_ssl, timeout), or None for the global connection.
Resolver = Callable[[str], dict[str, Any] | None]
_registry: dict[str, Resolver] = {}


def register_transport(kind: str, resolver: Resolver) -> None:
    _registry[kind] = resolver


def connection_for(transport: str) -> BaseEmailBackend:
    """An unopened connection for `transport` (the global one when it names nothing usable)."""
    if transport:
        kind, _, key = transport.partition(":")
        resolver = _registry.get(kind)
        if resolver is None:
            log.warning("No transport %r registered; sending through the global SMTP", kind)
        else:
            settings = resolver(key)
            if settings:
                return SmtpBackend(fail_silently=False, **settings)
    return get_connection(fail_silently=False)
