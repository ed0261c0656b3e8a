"""A database outage answers 503, not a 500 with a stack trace.

When Postgres restarts (or is briefly unreachable), a query raises OperationalError or
InterfaceError. That is the service being unavailable, not a bug: clients get a clean 503 with
`Retry-After` (JSON `{"detail", "code"}` for the API, a short page otherwise), the broken
connection is dropped, and the next request opens a fresh one, so recovery needs no manual step.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Briefly unavailable</title>"
    "<h1>Briefly unavailable</h1><p>We could not reach our database. Nothing you sent was "
    "half-saved; please try again in a few seconds.</p></html>"
)


def is_database_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer, and a reset of broken connections so the next request reconnects."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # a connection to a dead server may fail to close; it is gone anyway
            log.debug("closing a broken database connection failed", exc_info=True)
    response: HttpResponse
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse(
            {"detail": "The database is unavailable; try again shortly", "code": "unavailable"},
            status=503,
        )
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised by a view into a 503 (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_outage(exception):
            return None
        log.warning("Database unavailable on %s %s: %s", request.method, request.path, exception)
        return unavailable(request)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: a database outage raised outside a view (middleware, session save) is a 503
    too; anything else is Django's plain 500 page, never a stack trace."""
    if is_database_outage(sys.exc_info()[1]):
        return unavailable(request)
    return django_server_error(request, template_name)
