"""Care tasks are tickets (`GET /api/v1/tickets?type=care` lists them); the ticket JSON carries
the problem behind one as `care`."""

from __future__ import annotations

from ninja import Router

from care.models import CareTask
from tickets.models import Ticket, TicketType

router = Router(tags=["care"])


def care_result(task: CareTask | None) -> dict[str, object] | None:
    """The ticket JSON's `care` (`tickets.api.CareOut`) for a care task, or None."""
    if task is None:
        return None
    return {
        "reason": task.reason,
        "reason_label": task.get_reason_display(),
        "detail": task.detail,
        "order_external_id": task.order.external_id if task.order is not None else None,
        "shipment_id": task.shipment_id,
        "suggested_grant": task.suggested_grant,
        "suggested_grant_label": task.suggested_grant_label,
        "created_at": task.created_at,
        "resolved_at": task.resolved_at,
    }


def ticket_care(*, ticket: Ticket) -> dict[str, object] | None:
    """The `ticket_care` answer: the problem behind a care ticket."""
    if ticket.type != TicketType.CARE:
        return None
    return care_result(CareTask.objects.select_related("order").filter(ticket=ticket).first())
