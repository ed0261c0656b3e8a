from __future__ import annotations

from supportdesk.sweeps import register
from tickets import services


@register("follow_ups")
def send_follow_ups() -> int:
    return services.send_due_follow_ups()
