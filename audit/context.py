"""Who is acting and from where, carried to `audit.services.record` without passing it around.

The HTTP middleware, the API's token auth and the socket consumers set it; management commands and
sweeps leave it empty (the actor is then whoever the service is told, or "system").
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

MAX_USER_AGENT = 300


@dataclass
class AuditContext:
    ip: str | None = None
    user_agent: str = ""
    via: str = "system"  # web, api, socket, command, system
    user: Any = None  # the person acting, when known
    token_prefix: str = ""  # the API token acting, when the request used one
    request: Any = None  # resolved lazily: request.user is lazy in Django


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "audit_context", default=None
)


def current() -> AuditContext | None:
    return _current.get()


@contextlib.contextmanager
def acting(**fields: Any) -> Iterator[AuditContext]:
    """Set the audit context for the duration of a block (a request, a socket, a command)."""
    context = AuditContext(**fields)
    if context.user_agent:
        context.user_agent = context.user_agent[:MAX_USER_AGENT]
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def set_actor(user: Any, *, token_prefix: str = "", via: str | None = None) -> None:
    """Name the actor of the current context (the API's bearer auth, a socket's login)."""
    context = _current.get()
    if context is None:
        context = AuditContext()
        _current.set(context)
    context.user = user
    context.token_prefix = token_prefix
    if via:
        context.via = via


def client_ip(meta_or_scope_client: Any) -> str | None:
    """REMOTE_ADDR as the server saw it (a proxy in front sets it through daphne's --proxy-headers)."""
    value = str(meta_or_scope_client or "").strip()
    return value[:45] or None


class AuditContextMiddleware:
    """Carries each HTTP request's address, user agent and (lazy) user into the audit context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with acting(
            ip=client_ip(request.META.get("REMOTE_ADDR")),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            via="api" if request.path.startswith("/api/") else "web",
            request=request,
        ):
            return self.get_response(request)
