"""Which web origins may talk to us: agents only from our own hosts, the widget from shops' sites.

The widget is embedded with one script tag on a shop's own domain, so its HTTP endpoints answer
CORS and its socket accepts the shops' origins (`SUPPORTDESK_WIDGET_ORIGINS`, `*` for any site).
The visitor token, not the origin, is what protects a conversation; the origin list lets a company
refuse to be embedded elsewhere. Agent sockets carry session cookies, so they keep the strict
same-host check against ALLOWED_HOSTS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host

# Attachment URLs too: the widget fetches its chat's files with the visitor token (no cookies).
WIDGET_PATHS = (
    "/api/v1/widget/",
    "/api/v1/help/",
    "/api/v1/business-hours",
    "/widget.js",
    "/attachments/",
)


def widget_origin_allowed(origin: str) -> bool:
    allowed = settings.SUPPORTDESK_WIDGET_ORIGINS
    return "*" in allowed or origin.rstrip("/") in allowed


def WidgetOriginValidator(application: Any) -> OriginValidator:
    """Websocket origin check for the visitor socket: the widget's origins plus our own hosts."""
    origins = list(settings.SUPPORTDESK_WIDGET_ORIGINS) + list(settings.ALLOWED_HOSTS)
    return OriginValidator(application, origins)


class WidgetCorsMiddleware:
    """CORS for the widget's public endpoints only; no credentials, so no cookie ever crosses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        is_widget = request.path.startswith(WIDGET_PATHS)
        if is_widget and request.method == "OPTIONS" and origin:
            response = HttpResponse(status=204)
        else:
            response = self.get_response(request)
        if is_widget and origin and widget_origin_allowed(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> str:
    """scheme://host[:port] in lower case, without the scheme's default port."""
    host, port = split_domain_port(netloc.lower())
    if not host:
        return ""
    if port and int(port) != DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}:{port}" if ":" not in host else f"{scheme}://[{host}]:{port}"
    return f"{scheme}://{host}" if ":" not in host else f"{scheme}://[{host}]"


def trusted_agent_origins() -> set[str]:
    """SITE_URL's origin and CSRF_TRUSTED_ORIGINS (exact origins; no wildcards)."""
    found = set()
    for url in [settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS]:
        parts = urlsplit(url.strip())
        if parts.scheme in DEFAULT_PORTS and parts.netloc and "*" not in parts.netloc:
            found.add(_origin(parts.scheme, parts.netloc))
    return found


def agent_origin_allowed(origin: str, *, scheme: str, host: str) -> bool:
    """Same origin as the socket's own URL (scheme, host and port), or a trusted origin.

    The socket's Host must be one of ALLOWED_HOSTS; ws/wss count as http/https."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False
    given = _origin(parts.scheme, parts.netloc)
    if given in trusted_agent_origins():
        return True
    hostname, _ = split_domain_port(host.lower())
    if not hostname or not validate_host(hostname, settings.ALLOWED_HOSTS):
        return False
    own_scheme = "https" if scheme in ("wss", "https") else "http"
    return given == _origin(own_scheme, host)


class AgentOriginValidator:
    """Websocket origin check for agents' sockets (they carry session cookies): the page must be
    ours, compared by scheme, host and port, or in CSRF_TRUSTED_ORIGINS / SITE_URL. A client with
    no Origin (not a browser) is let through only with an Authorization header (a bearer token)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin:
                allowed = agent_origin_allowed(origin, scheme=scope.get("scheme", "ws"), host=host)
            else:
                allowed = b"authorization" in headers
            if not allowed:
                return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
