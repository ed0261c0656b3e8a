"""GET /api/v1/customers/{id}/export (manager) and POST /api/v1/customers/{id}/erase (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from accounts.http import AgentRequest
from accounts.models import Role, User
from core.api import ApiError
from customers.models import Customer
from privacy import services
from privacy.models import ExportJob

router = Router(tags=["privacy"])


class ExportStarted(Schema):
    job_id: int
    status: str
    attachments: bool = Field(..., description="A zip with the attachment files (else JSON)")
    status_url: str
    download_url: str
    expires_at: datetime


class ExportJobOut(Schema):
    job_id: int
    status: str
    attachments: bool
    items: int
    expires_at: datetime
    ready_at: datetime | None
    downloaded_at: datetime | None


class ErasureOut(Schema):
    customer_id: int
    erased: bool
    counts: dict[str, int]


def _require(request: AgentRequest, role: Role) -> User:
    user: User = request.user
    if not user.has_role(role):
        raise PermissionDenied(f"Only {role.label.lower()}s may do this")
    return user


@router.get(
    "/customers/{customer_id}/export",
    response={200: dict[str, Any], 202: ExportStarted},
    summary="Everything held about a person (manager): inline, or 202 with a one-time link",
    description=(
        "Profile, emails, tickets and messages, chats, orders, grants, CSAT and the attachment "
        "list as one JSON document. Histories over SUPPORTDESK_EXPORT_INLINE_MAX_ITEMS items (or "
        "`background=true`) are built in the background: the 202 carries a download link that "
        "works once and expires after SUPPORTDESK_EXPORT_LINK_HOURS. `attachments=true` always "
        "answers 202: the link then gives a zip (`application/zip`) holding "
        "`person-export.json` (each attachment entry with its `zip_path`, or `missing: true` if "
        "its file is gone) and the files under `attachments/<id>-<name>`."
    ),
)
def export_customer(
    request: AgentRequest,
    customer_id: int,
    background: bool = False,
    attachments: bool = Query(False, description="A zip with the attachment files"),
) -> Any:
    manager = _require(request, Role.MANAGER)
    customer = get_object_or_404(Customer, pk=customer_id)
    if (
        not background
        and not attachments
        and services.count_items(customer) <= settings.SUPPORTDESK_EXPORT_INLINE_MAX_ITEMS
    ):
        return services.export_inline(customer, by=manager, request=request)
    job, secret = services.start_export(
        customer, by=manager, request=request, with_attachments=attachments
    )
    return Status(
        202,
        {
            "job_id": job.pk,
            "status": job.status,
            "attachments": job.with_attachments,
            "status_url": f"/api/v1/privacy/exports/{job.pk}",
            "download_url": request.build_absolute_uri(reverse("privacy:download", args=[secret])),
            "expires_at": job.expires_at,
        },
    )


@router.get(
    "/privacy/exports/{job_id}", response=ExportJobOut, summary="An export's state (manager)"
)
def export_status(request: AgentRequest, job_id: int) -> dict[str, Any]:
    _require(request, Role.MANAGER)
    job = get_object_or_404(ExportJob, pk=job_id)
    return {
        "job_id": job.pk,
        "status": job.status,
        "attachments": job.with_attachments,
        "items": job.items,
        "expires_at": job.expires_at,
        "ready_at": job.ready_at,
        "downloaded_at": job.downloaded_at,
    }


@router.post(
    "/customers/{customer_id}/erase",
    response=ErasureOut,
    summary="Erase a person (admin): redacted everywhere, the grant ledger kept anonymously",
)
def erase_customer(request: AgentRequest, customer_id: int) -> dict[str, Any]:
    admin = _require(request, Role.ADMIN)
    customer = get_object_or_404(Customer, pk=customer_id)
    try:
        counts = services.erase_customer(customer, by=admin, request=request)
    except services.PrivacyError as error:
        raise ApiError(409, str(error), error.code) from None
    return {"customer_id": customer.pk, "erased": True, "counts": counts}
