"""POST /api/v1/inbound/email: the signed webhook an MTA or the shop uses to hand us raw mail.

Authenticated by an HMAC of the body (no bearer token): the sender proves it knows
SUPPORTDESK_INBOUND_SECRET. The handler only checks the request and calls `ingest_raw_email`.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from core import ratelimit
from core.api import ApiError, json_response
from tickets.inbound import ingest_raw_email, sign
from tickets.models import InboundStatus

router = Router(tags=["inbound email"])

SIGNATURE_HEADER = "X-Supportdesk-Signature"


class InboundOut(Schema):
    ticket_id: int
    message_id: int
    created: bool
    duplicate: bool


def _signature_ok(request: HttpRequest, body: bytes) -> bool:
    secret = settings.SUPPORTDESK_INBOUND_SECRET
    given = request.headers.get(SIGNATURE_HEADER, "")
    # No secret configured means no sender can be trusted, not that every sender is.
    if not secret or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), sign(body, secret).encode())


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@router.post(
    "/inbound/email",
    auth=None,
    response={202: InboundOut},
    summary="Receive one raw RFC 822 message (HMAC-signed)",
    openapi_extra={
        "requestBody": {"content": {"message/rfc822": {"schema": {"type": "string"}}}},
    },
)
def inbound_email(request: HttpRequest) -> Status | HttpResponse:
    ratelimit.check(request, "inbound-email")
    limit = settings.SUPPORTDESK_MAX_INBOUND_BYTES
    # Checked before reading the body, so an oversize request costs us nothing.
    if _declared_length(request) > limit:
        raise ApiError(413, f"The message is over the {limit:,}-byte limit", "too_large")
    body = request.body
    if len(body) > limit:
        raise ApiError(413, f"The message is over the {limit:,}-byte limit", "too_large")
    if not _signature_ok(request, body):
        raise ApiError(
            401,
            f"Missing or wrong {SIGNATURE_HEADER}: send sha256=<hex HMAC-SHA256 of the body>",
            "bad_signature",
        )
    result = ingest_raw_email(body, source="webhook")
    if result.temporary:
        # Never "unparseable" for a database hiccup: a 4xx tells the mail server to give up.
        response = json_response(
            request,
            {
                "detail": f"Temporarily unavailable (kept as inbound {result.inbound_id}); retry",
                "code": "unavailable",
            },
            status=503,
        )
        response["Retry-After"] = "5"
        return response
    if result.status == InboundStatus.FAILED or result.ticket_id is None:
        # The raw bytes are stored (InboundEmail row) for an admin to review and retry.
        raise ApiError(
            400,
            f"Unparseable message (kept as inbound {result.inbound_id}): {result.error}",
            "unparseable",
        )
    return Status(
        202,
        {
            "ticket_id": result.ticket_id,
            "message_id": result.message_id,
            "created": result.created,
            "duplicate": result.duplicate,
        },
    )
