from __future__ import annotations

from core.sweeps import register
from webhooks import services


@register("webhooks")
def deliver_webhooks() -> int:
    return services.deliver_due()
