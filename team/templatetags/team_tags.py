"""Template tags of the team app: the activity script for every agent page, and handle time."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from team import services
from tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("team/partials/activity_script.html")
def activity_script() -> dict[str, Any]:
    return {
        "interval": settings.SUPPORTDESK_ACTIVITY_HEARTBEAT_SECONDS,
        "idle_limit": int(services.IDLE_LIMIT.total_seconds()),
    }


@register.inclusion_tag("team/partials/ticket_handle_time.html")
def ticket_handle_time(ticket: Ticket) -> dict[str, Any]:
    handle = services.ticket_handle_time(ticket)
    return {
        "first_response": services.format_duration(handle.first_response)
        if handle.first_response is not None
        else "",
        "time_to_solve": services.format_duration(handle.time_to_solve)
        if handle.time_to_solve is not None
        else "",
    }


@register.filter
def duration(seconds: int | None) -> str:
    return services.format_duration(seconds)
