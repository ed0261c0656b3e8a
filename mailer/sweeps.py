from __future__ import annotations

from core.sweeps import register
from mailer import services


@register("outbound_mail")
def deliver_outbound_mail() -> int:
    return services.deliver_all_due()
