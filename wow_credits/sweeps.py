from __future__ import annotations

from core.sweeps import register
from wow_credits import services


@register("grants")
def execute_due_grants() -> int:
    """Execute grants whose undo window has closed (and re-run those whose lease ran out)."""
    total = 0
    for _ in range(10):  # bounded: one sweep never runs forever
        done = services.execute_due()
        total += done
        if done == 0:
            break
    return total


@register("wow_digest")
def monthly_digest() -> int:
    """Queue last month's digest once, on the first sweep of a new month."""
    return services.send_monthly_digest()
