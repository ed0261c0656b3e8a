"""Care tasks are tickets (`GET /api/v1/tickets?type=care` lists them); the ticket JSON carries
the problem behind one as `care`."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema

from care.models import CareTask

router = Router(tags=["care"])


class CareOut(Schema):
    reason: str
    reason_label: str
    detail: str
    order_external_id: str | None
    shipment_id: int | None
    suggested_grant: str
    suggested_grant_label: str
    created_at: datetime
    resolved_at: datetime | None


def care_result(task: CareTask | None) -> dict[str, object] | None:
    if task is None:
        return None
    return {
        "reason": task.reason,
        "reason_label": task.get_reason_display(),
        "detail": task.detail,
        "order_external_id": task.order.external_id if task.order_id else None,  # type: ignore[union-attr]
        "shipment_id": task.shipment_id,
        "suggested_grant": task.suggested_grant,
        "suggested_grant_label": task.suggested_grant_label,
        "created_at": task.created_at,
        "resolved_at": task.resolved_at,
    }
