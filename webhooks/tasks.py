from __future__ import annotations

from celery import shared_task


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver() -> int:
    """Deliver due webhook events (webhooks.services.deliver_due); safe twice or concurrently."""
    from webhooks.services import arm_retry, deliver_due

    delivered = deliver_due()
    arm_retry()
    return delivered
