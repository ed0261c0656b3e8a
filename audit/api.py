"""`GET /api/v1/audit` for managers and admins: the append-only log, filtered, keyset-paged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from audit import queries
from core.api import ApiError

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor: str = Field(..., description="The person's email, `token <prefix>`, or `system`")
    actor_id: int | None
    token: str = Field(..., description="Prefix of the API token used, if any")
    via: str = Field(..., description="web, api, socket, command or system")
    action: str
    object_type: str
    object_id: str
    ip: str | None
    user_agent: str
    detail: dict[str, Any] = Field(
        ..., description="`changes`: {field: [before, after]} and other facts; never secrets"
    )


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None


def require_manager(request: HttpRequest) -> None:
    if not getattr(request.user, "is_manager", False):
        raise PermissionDenied("The audit log is for managers and admins")


@router.get("/audit", response=AuditPage, summary="The audit log (manager, admin)")
def list_audit(
    request: HttpRequest,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    cursor: str = "",
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    require_manager(request)
    params = {"actor": actor, "action": action, "object_type": object_type, "object_id": object_id}
    try:
        rows, next_cursor = queries.page(params, cursor=cursor or None, limit=limit)
    except queries.BadCursor:
        raise ApiError(400, "Bad cursor", "bad_cursor") from None
    return {"items": [queries.as_dict(e) for e in rows], "next_cursor": next_cursor}
