"""Template tags of the team app: the activity script for every agent page, and handle time."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from team import services
from tickets.models import Ticket

register = template.Library()


@register.simple_tag
def activity_script() -> SafeString:
    """The activity heartbeat's `<script>` on every agent page (a function of two settings:
    rendered once per pair of values and process)."""
    return _activity_script(
        settings.SUPPORTDESK_ACTIVITY_HEARTBEAT_SECONDS,
        int(services.IDLE_LIMIT.total_seconds()),
        translation.get_language(),  # numbers are printed in the page's language
    )


@functools.lru_cache(maxsize=16)
def _activity_script(interval: int, idle_limit: int, language: str | None) -> SafeString:
    context = {"interval": interval, "idle_limit": idle_limit}
    html = render_to_string("team/partials/activity_script.html", context)
    return mark_safe(html)  # noqa: S308  (our template, autoescaped)


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
