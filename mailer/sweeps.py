from __future__ import annotations

from core.sweeps import register
from mailer import delivery


@register("outbound_mail")
def deliver_outbound_mail() -> int:
    return delivery.deliver_all_due()
