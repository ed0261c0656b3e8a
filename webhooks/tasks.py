from __future__ import annotations

from celery import shared_task

from core import sweeps


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver() -> int:
    """Deliver due webhook events (webhooks.services.deliver_due); safe twice or concurrently."""
    # Through the sweep registry: this module imports no service (services queue this task).
    return sweeps.registered()["webhooks"]()
