"""What every app's API router uses: the error with a machine-readable code, and the NinjaAPI class
whose schema documents the error envelope. The one API instance, its error handlers and the list
of routers are wiring (supportdesk/api.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer


class ApiError(HttpError):
    """An error with a machine-readable code, rendered as {"detail", "code"}."""

    def __init__(self, status_code: int, detail: str, code: str) -> None:
        super().__init__(status_code, detail)
        self.code = code


ERROR_STATUSES = {
    400: "Bad request (unparseable body, bad cursor)",
    401: "Missing or wrong credentials",
    403: "Not allowed for this user",
    404: "No such object",
    409: "Conflicts with the current state (e.g. an idempotency key reused with another body)",
    413: "Too large",
    422: "Invalid input",
    429: "Rate limited: see Retry-After",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["detail", "code"],
}


class SupportdeskAPI(NinjaAPI):
    """NinjaAPI whose schema documents the error envelope every operation can answer with."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(status, {"description": description, "content": error})
        return schema


# The API's own renderer (SupportdeskAPI uses ninja's default): same encoder, same content type.
_renderer = JSONRenderer()


def json_response(request: HttpRequest, data: Any, *, status: int = 200) -> HttpResponse:
    """A body built by hand (no response schema run over it) rendered exactly as the API renders
    the bodies it validates: same JSON encoder (datetimes, decimals), same content type."""
    return HttpResponse(
        _renderer.render(request, data, response_status=status),
        status=status,
        content_type=f"{_renderer.media_type}; charset={_renderer.charset}",
    )


class HostileJsonParser(Parser):
    """Request bodies through core.security.parse_json: too deep or lone-surrogate JSON is a 400
    ("Cannot parse request body"), never a 500 further down."""

    def parse_body(self, request: HttpRequest) -> Any:
        from core.security import parse_json

        return parse_json(request.body)
