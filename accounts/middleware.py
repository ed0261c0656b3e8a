"""SUPPORTDESK_REQUIRE_2FA: an employee signed in without a second factor reaches only the pages
that set one up. Agent pages redirect there, API calls made with the session answer 403
`second_factor_required`, and agent sockets see an anonymous user (so they refuse it).

Bearer tokens are not sessions and are not stopped here: a token is made either by an operator on
the server (`issue_api_token`) or on the tokens page, which asks for the second factor again."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode

from accounts.services import needs_second_factor_setup

# Paths a signed-in person without a factor may still use: setting one up, signing out, assets.
OPEN_PREFIXES = ("/accounts/", "/logout/", "/static/", "/healthz", "/login/", "/favicon")


class RequireSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(OPEN_PREFIXES) or not request.user.is_authenticated:
            return self.get_response(request)
        if request.path.startswith("/api/") and "HTTP_AUTHORIZATION" in request.META:
            return self.get_response(request)  # a bearer token: the API's auth decides
        if not needs_second_factor_setup(request.user):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": "Set up a second factor first (at /accounts/2fa/)",
                    "code": "second_factor_required",
                },
                status=403,
            )
        setup = reverse("mfa_index")
        return HttpResponseRedirect(f"{setup}?{urlencode({'next': request.get_full_path()})}")


class RequireSecondFactorSocketMiddleware:
    """Inside Channels' AuthMiddlewareStack: a session user who still needs to set up a second
    factor is replaced by AnonymousUser, so agent sockets fall back to a bearer token or refuse."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if (
            user is not None
            and getattr(user, "is_authenticated", False)
            and await database_sync_to_async(needs_second_factor_setup)(user)
        ):
            scope = {**scope, "user": AnonymousUser()}
        return await self.inner(scope, receive, send)


class SocketSessionMiddleware:
    """Channels' SessionMiddleware for agent sockets, without its cost per frame. Channels wraps
    the socket's every `send` to save a changed session with an HTTP response, which a websocket
    never sends: on a console that was a lazy session lookup for each outgoing frame (~2% of a
    daphne process's CPU under the chat benchmark). Sockets only read the session (who the agent
    is, and the key the cut-off closes), so it goes in the scope and `send` stays the server's.
    Inside Channels' CookieMiddleware, outside its AuthMiddleware."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session = store(scope["cookies"].get(settings.SESSION_COOKIE_NAME))
        return await self.inner({**scope, "session": session}, receive, send)


class AgentLocaleMiddleware:
    """A signed-in employee sees the agent app in their profile's language and timezone (times on
    every page are rendered in it). After LocaleMiddleware (whose browser choice it overrides)
    and AuthenticationMiddleware. Customers' pages choose their own language (csat, widget)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        zone = _zone(user.timezone)
        if user.language in dict(settings.LANGUAGES):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
