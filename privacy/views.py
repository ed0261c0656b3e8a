from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from privacy import services

STATUS = {"not_found": 404, "gone": 410, "not_ready": 409}


def download(request: HttpRequest, secret: str) -> HttpResponse:
    """The export behind a one-time link: the link is the credential, it works once and expires."""
    try:
        data = services.take_download(secret)
    except services.PrivacyError as error:
        return JsonResponse({"detail": str(error), "code": error.code}, status=STATUS[error.code])
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="person-export.json"'
    response["Cache-Control"] = "no-store"
    return response
