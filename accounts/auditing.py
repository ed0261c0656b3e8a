"""Security events of accounts/ and privacy/ into the audit log (audit.services.record, in the
caller's transaction): factor changes, admin factor resets, token creation and revocation,
exports and erasures. Never a secret, a code, or erased data."""

from __future__ import annotations

from typing import Any, TypedDict

from audit.services import record as audit_record


def record(
    *,
    action: str,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = None,
    ip: str = "",
    user_agent: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        action,
        actor=actor,
        object_type=object_type,
        object_id="" if object_id is None else object_id,
        ip=ip or None,
        user_agent=user_agent or None,
        detail=detail or {},
    )


class RequestOrigin(TypedDict):
    ip: str
    user_agent: str


def request_origin(request: Any) -> RequestOrigin:
    """The `ip` and `user_agent` of a request, for record(**request_origin(request))."""
    if request is None:
        return {"ip": "", "user_agent": ""}
    return {
        "ip": str(request.META.get("REMOTE_ADDR") or ""),
        "user_agent": str(request.META.get("HTTP_USER_AGENT", ""))[:300],
    }
