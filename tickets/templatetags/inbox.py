"""Template filters of the agent pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from tickets.inbox_table import compact_age as _compact_age

register = template.Library()


@register.filter
def compact_age(value: datetime | None) -> str:
    """ "4m", "3h", "2d": how long ago, as the inbox rows print it."""
    return _compact_age(value, timezone.now()) if value else ""
