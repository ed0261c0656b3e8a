"""POST /api/v1/uploads: an agent uploads a file to send with a reply or a chat line.

The widget's upload (`POST /api/v1/widget/uploads`, visitor token) lives with live chat; both call
`attachments.services.create_attachment` and answer with `UploadOut`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from accounts.http import AgentRequest
from attachments import services
from attachments.models import Source
from core.api import ApiError

router = Router(tags=["attachments"])


class UploadOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str = ""


def declared_too_large(request: HttpRequest) -> bool:
    """The request announces more bytes than any allowed upload plus its multipart framing."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > services.max_upload_bytes() + 64 * 1024


def take_upload(request: HttpRequest, upload: UploadedFile | None, **fields: Any) -> dict[str, Any]:
    """Read, check and store one uploaded file; errors as the API's {detail, code}."""
    try:
        if declared_too_large(request):
            limit = services.max_upload_bytes()
            raise services.AttachmentError(
                f"The file is larger than the limit of {limit:,} bytes",
                code="too_large",
                status=413,
            )
        content = services.read_upload(upload)
        attachment = services.create_attachment(
            content=content, filename=getattr(upload, "name", "") or "", **fields
        )
    except services.AttachmentError as error:
        raise ApiError(error.status, str(error), error.code) from None
    return services.as_json(attachment)


@router.post(
    "/uploads",
    response={201: UploadOut},
    summary="Upload a file (multipart field `file`) to attach to a reply or a chat line",
)
def upload(request: AgentRequest, file: File[UploadedFile | None] = None) -> Status[dict[str, Any]]:
    return Status(201, take_upload(request, file, source=Source.AGENT, uploaded_by=request.auth))
