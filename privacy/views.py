from __future__ import annotations

from django.http import FileResponse, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase

from privacy import services

STATUS = {"not_found": 404, "gone": 410, "not_ready": 409}


def download(request: HttpRequest, secret: str) -> HttpResponseBase:
    """The export behind a one-time link: the link is the credential, it works once and expires."""
    try:
        download = services.take_download(secret)
    except services.PrivacyError as error:
        return JsonResponse({"detail": str(error), "code": error.code}, status=STATUS[error.code])
    # Streamed in chunks (a zip with attachments may be large); the file is deleted on close.
    response = FileResponse(
        download.file,
        as_attachment=True,
        filename=download.filename,
        content_type=download.content_type,
    )
    response["Cache-Control"] = "no-store"
    return response
