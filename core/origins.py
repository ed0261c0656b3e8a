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

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Attachment URLs too: the widget fetches its chat's files with the visitor token (no cookies).
WIDGET_PATHS = ("/api/v1/widget/", "/api/v1/help/", "/widget.js", "/attachments/")


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
