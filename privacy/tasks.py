from __future__ import annotations

# Celery autodiscovers `tasks` modules; the task lives beside the service it runs.
from privacy.services import build_export_file

__all__ = ["build_export_file"]
