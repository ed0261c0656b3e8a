"""Logging filters wired from settings.LOGGING."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keeps the line for a 4xx answer (who was refused what) and drops its traceback: a
    PermissionDenied or Http404 is the expected answer to a request, not a fault to debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        is_client_error = (status is not None and 400 <= status < 500) or record.name.startswith(
            "django.security"
        )
        if is_client_error:
            record.exc_info = None
            record.exc_text = None
        return True
