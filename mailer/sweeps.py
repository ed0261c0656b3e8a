from __future__ import annotations

from mailer import services
from supportdesk.sweeps import register


@register("outbound_mail")
def deliver_outbound_mail() -> int:
    return services.deliver_all_due()
