"""Serving attachments: access per conversation (attachments.access), and never a page.

Every file is served as a download (`Content-Disposition: attachment`): opened directly, nothing
renders in our origin. Images still show in an <img> (thumbnails, photos), which ignores the
disposition. Anything that could run (HTML, SVG, XML, scripts, unknown bytes) was typed
application/octet-stream from its bytes; every response says `X-Content-Type-Options: nosniff` and
carries a CSP that runs nothing.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from attachments.access import can_read
from attachments.models import Attachment

SANDBOX_CSP = "default-src 'none'; sandbox"


def _serve(request: HttpRequest, pk: int, *, thumbnail: bool) -> FileResponse:
    attachment = get_object_or_404(Attachment, pk=pk)
    if not can_read(request, attachment):
        raise Http404("No such attachment")
    field = attachment.thumbnail if thumbnail else attachment.file
    if not field:
        raise Http404("No thumbnail for this attachment")
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError, OSError):
        raise Http404("The file of this attachment is missing") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename or f"attachment-{attachment.pk}",
        content_type="image/png"
        if thumbnail
        else (attachment.content_type or "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-site"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def download(request: HttpRequest, pk: int) -> FileResponse:
    return _serve(request, pk, thumbnail=False)


@require_GET
def thumbnail(request: HttpRequest, pk: int) -> FileResponse:
    return _serve(request, pk, thumbnail=True)
