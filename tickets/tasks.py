from __future__ import annotations

from celery import shared_task

from core import sweeps


@shared_task(name="tickets.send_follow_ups_at", ignore_result=True)
def send_follow_ups_at() -> int:
    """A follow-up timer (tickets.services.arm_follow_up_timer) fired: run the follow-up sweep
    now. Safe early, late or twice: it converts what is due, under the converter lock."""
    # Through the registry, not `from tickets import sweeps` at import time: importing an app's
    # sweeps module before autodiscovery would change the order in which run_all() runs sweeps.
    return sweeps.registered()["follow_ups"]()


@shared_task(name="tickets.run_bulk_job", ignore_result=True)
def run_bulk_job(job_id: int) -> int:
    """Work the bulk jobs waiting (the one just queued among them), through the sweep's entry
    point: safe twice or alongside the sweep (a job is claimed under a lease)."""
    return sweeps.registered()["bulk_jobs"]()
