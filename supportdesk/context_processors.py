from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def profile(request: HttpRequest) -> dict[str, Any]:
    return {
        "EMBEDDED_PROFILE": settings.EMBEDDED,
        "COMPANY_NAME": settings.SUPPORTDESK_COMPANY_NAME,
    }
