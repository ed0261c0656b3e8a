from __future__ import annotations

from celery import shared_task

from core import sweeps


@shared_task(name="supportdesk.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Beat's periodic job: run every registered sweep once (same as `manage.py sweep`)."""
    return sweeps.run_all()
