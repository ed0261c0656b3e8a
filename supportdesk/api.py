"""The v1 HTTP API: one NinjaAPI, one router per app, errors as {"detail", "code"}.

Auth: `Authorization: Bearer <token>` (tokens from `manage.py issue_api_token`) or the agent's
session cookie with a CSRF token, so the browser app and integrations share the same endpoints.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.api_auth import AgentSession, BearerToken
from core.api import ApiError, HostileJsonParser, SupportdeskAPI
from core.ratelimit import RateLimited

api = SupportdeskAPI(
    title="Supportdesk API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), AgentSession()],
    parser=HostileJsonParser(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    description=(
        "Tickets, inbound email, orders and customers, live chat, WOW grants and stories. "
        "Errors are JSON objects with `detail` and `code`."
    ),
)


def _error(request: HttpRequest, status: int, detail: str, code: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), exc.code)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "invalid",
        429: "rate_limited",
    }
    return _error(request, exc.status_code, str(exc), codes.get(exc.status_code, "error"))


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error(request, 429, str(exc), "rate_limited")
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", []) if p not in ("body", "payload"))
    detail = (
        f"{where}: {first.get('msg', 'invalid input')}"
        if where
        else str(first.get("msg", "invalid input"))
    )
    return _error(
        request,
        422,
        detail,
        "invalid",
        errors=[{"loc": list(e.get("loc", [])), "msg": str(e.get("msg", ""))} for e in exc.errors],
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, "Authentication required: send Authorization: Bearer <token>", "unauthorized"
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, str(exc) or "Not found", "not_found")


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or "You may not do this", "forbidden")


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # A broken multipart body (an upload cut short, a bad boundary): Django's bare 400 page
    # otherwise, which no API client can read.
    return _error(request, 400, "The multipart body could not be read", "bad_request")


def _register_routers() -> None:
    # Each app owns its router; add one line here per router.
    from customers.api import router as customers_router
    from livechat.api import router as livechat_router
    from tickets.api import router as tickets_router

    api.add_router("/", customers_router)
    api.add_router("/", tickets_router)
    api.add_router("/", livechat_router)
    api.add_router("/", "wow_credits.api.router")
    api.add_router("/", "tickets.inbound_api.router")
    api.add_router("/", "care.api.router")
    api.add_router("/", "csat.api.router")
    api.add_router("/", "snippets.api.router")
    api.add_router("/", "team.api.router")
    api.add_router("/", "helpcenter.api.router")
    api.add_router("/", "mailboxes.api.router")
    api.add_router("/", "attachments.api.router")
    api.add_router("/", "audit.api.router")
    api.add_router("/", "accounts.agents_api.router")
    api.add_router("/", "livechat.account_api.router")
    api.add_router("/", "hours.api.router")
    api.add_router("/", "teams.api.router")
    api.add_router("/", "accounts.tokens_api.router")
    api.add_router("/", "privacy.api.router")
    api.add_router("/", "webhooks.api.router")
    api.add_router("/", "exports.api.router")


_register_routers()
