from __future__ import annotations

from care import services
from core.sweeps import register


@register("care")
def proactive_care() -> int:
    return services.sweep_care()
