from __future__ import annotations

from core.sweeps import register
from webhooks import services


@register("webhooks")
def deliver_webhooks() -> int:
    delivered = services.deliver_due()
    services.arm_retry()  # one timer for the earliest retry due soon (deduplicated)
    return delivered
