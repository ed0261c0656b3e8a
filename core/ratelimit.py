"""One small rate limiter for the public endpoints: a fixed window per client and route.

Counters live in Django's cache (Redis in production, so every daphne process shares them). A
request over its limit gets 429 with `Retry-After` and `{"detail", "code": "rate_limited"}`; it
is refused before any work, so a flood stores nothing. Limits are per scope (a route, or a route
and a username) and can be tuned with the `SUPPORTDESK_RATELIMITS` setting
(`{"scope": (requests, seconds)}`); `SUPPORTDESK_RATELIMIT_ENABLED=false` turns them all off
(load tests).

The client is REMOTE_ADDR: run daphne behind a proxy with `--proxy-headers` so that it is the
visitor's address, never a header a client can forge.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.html import escape

# (requests, seconds) per client and scope. Generous for people, tight enough for scripts.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "widget-sessions": (30, 60),
    "widget-offline": (10, 60),
    "inbound-email": (600, 60),  # an MTA delivers bursts; a flood of forgeries is still capped
    "login-ip": (30, 300),
    "login-user": (10, 300),  # password guessing on one account from many addresses
    "web-form": (10, 60),
    "csat": (20, 60),
    "help-feedback": (30, 60),
    "widget-uploads": (30, 60),  # files from chat visitors, per address
}


class RateLimited(Exception):
    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"Too many requests; try again in {retry_after} seconds")
        self.scope = scope
        self.retry_after = retry_after


def limit_for(scope: str) -> tuple[int, int]:
    overrides: dict[str, tuple[int, int]] = getattr(settings, "SUPPORTDESK_RATELIMITS", {}) or {}
    return overrides.get(scope) or DEFAULT_LIMITS[scope]


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _cache_key(scope: str, key: str, window: int) -> str:
    # Hashed: keys carry usernames and addresses, and must be valid cache keys whatever they hold.
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window}"


def hit(scope: str, key: str) -> None:
    """Count one request of `key` in `scope`; raise RateLimited when it is over the limit."""
    if not settings.SUPPORTDESK_RATELIMIT_ENABLED:
        return
    limit, per = limit_for(scope)
    now = time.time()
    window = int(now // per)
    cache_key = _cache_key(scope, key, window)
    cache.add(cache_key, 0, per + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, per + 1)
        count = 1
    if count > limit:
        raise RateLimited(scope, max(1, math.ceil((window + 1) * per - now)))


def forget(scope: str, key: str) -> None:
    """Drop what `key` has used of `scope` in the current window (a fresh start for an address
    that was limited by mistake; every process sees it, the counters are in the shared cache)."""
    _, per = limit_for(scope)
    cache.delete(_cache_key(scope, key, int(time.time() // per)))


def check(request: HttpRequest, scope: str) -> None:
    """Count one request of this client address in `scope` (for API handlers)."""
    hit(scope, client_ip(request))


def response_for(request: HttpRequest, error: RateLimited) -> HttpResponse:
    """429 with Retry-After: JSON for API clients and scripts, a short page for browsers."""
    detail = str(error)
    if "text/html" in request.headers.get("Accept", "") and not request.path.startswith("/api/"):
        response: HttpResponse = HttpResponse(
            f"<!doctype html><title>Too many requests</title><p>{escape(detail)}</p>",
            status=429,
        )
    else:
        response = JsonResponse({"detail": detail, "code": "rate_limited"}, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def ratelimit(
    scope: str,
    *,
    methods: tuple[str, ...] = ("POST",),
    key: Callable[[HttpRequest], str] = client_ip,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorate a Django view: its `methods` requests count against `scope`, per `key(request)`
    (the client address unless told otherwise; an empty key is not counted)."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in methods and (value := key(request)):
                try:
                    hit(scope, value)
                except RateLimited as error:
                    return response_for(request, error)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def login_username(request: HttpRequest) -> str:
    """The account a login form names: guessing one password from many addresses is limited too."""
    return str(request.POST.get("username", "")).strip().lower()[:254]
