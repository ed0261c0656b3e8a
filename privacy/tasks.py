from __future__ import annotations

from celery import shared_task


@shared_task(name="privacy.build_export_file", ignore_result=True)
def build_export_file(job_id: int) -> None:
    from privacy.services import build_export_job

    build_export_job(job_id)
