"""Content-Security-Policy for every page we render (Django 5.2 has none built in).

Scripts run only from our own origin: no template has an inline script or event-handler
attribute, so a stored XSS in a customer's message has nothing to execute even if sanitising
ever missed it. Styles allow 'unsafe-inline' because htmx injects its indicator styles, the
widget styles its own elements and a few templates carry small style attributes; CSS cannot run
script, and moving every style out is not worth a broken page.

Not covered, on purpose:
- `/widget.js` is executed on the shops' pages under their policy, not ours; a policy on it would
  only get in the way of proxies and caches, so it is served without one (CORS as before).
- Responses that already carry a policy keep it (attachments are `default-src 'none'; sandbox`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse

EXEMPT_PATHS = ("/widget.js",)


def policy(request: HttpRequest) -> str:
    # 'self' covers same-host websockets in current browsers; the explicit ws(s) origin keeps
    # older ones working for the agent console, inbox live updates and the demo shop's widget.
    ws_origin = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {ws_origin}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path not in EXEMPT_PATHS and "Content-Security-Policy" not in response:
            try:
                response["Content-Security-Policy"] = policy(request)
            except DisallowedHost:  # the response is already the 400 page for a bad Host
                response["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        return response


# A JSON \u0000 escape not itself escaped (an even number of backslashes before it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class RefuseNulCharactersMiddleware:
    """Refuse NUL characters in query strings and JSON bodies with a clear 4xx.

    Postgres text cannot hold U+0000, so one would otherwise reach the database and fail there
    with a 500 (found by tests/security/test_injection.py). It never means anything in a
    subject, a body or a search; Django's forms already refuse it, this covers the JSON API and
    query parameters.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        has_nul = "%00" in query or "\x00" in query
        if not has_nul and request.content_type == "application/json":
            has_nul = bool(_JSON_NUL.search(request.body))
        if has_nul:
            detail = "NUL characters (U+0000) are not allowed in text"
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": detail, "code": "invalid"}, status=422)
            return HttpResponse(detail, status=400, content_type="text/plain")
        return self.get_response(request)


# --- hostile JSON ----------------------------------------------------------------------------------

MAX_JSON_DEPTH = 32


class HostileJson(ValueError):
    """JSON that parses but must not be used: too deep, or text no database can store."""


def _check_json(value: object, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise HostileJson(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise HostileJson("JSON text holds a lone surrogate (\\ud800-\\udfff)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def parse_json(raw: str | bytes) -> object:
    """json.loads for untrusted input: ValueError (never RecursionError or a later encoding error)
    for invalid JSON, nesting deeper than MAX_JSON_DEPTH, or lone surrogates in any string."""
    import json

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise HostileJson("The body is not UTF-8") from None
    # Nesting deeper than the limit needs more brackets than that, so most input (every chat frame)
    # skips the character scan, which cost more than the parse itself.
    if raw.count("[") + raw.count("{") > MAX_JSON_DEPTH:
        _reject_deep_nesting(raw)
    try:
        value = json.loads(raw)
    except RecursionError:
        raise HostileJson("JSON nested too deeply") from None
    _check_json(value, 0)
    return value


def _reject_deep_nesting(raw: str) -> None:
    """Reject deep nesting before the parser recurses into it: the bracket depth outside strings
    (a bound, not a parser; parse_json then checks the parsed value exactly)."""
    depth = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise HostileJson(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        elif char in "]}":
            depth -= 1
