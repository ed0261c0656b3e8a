from __future__ import annotations

from celery import shared_task

from mailer import delivery


@shared_task(name="mailer.deliver_outbound", ignore_result=True)
def deliver_outbound() -> int:
    """Send what is due now. Safe to run any number of times at once: rows are claimed, not shared."""
    return delivery.deliver_all_due()
