"""Template tags and filters of the agent pages."""

from __future__ import annotations

import functools
from datetime import datetime

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from tickets.inbox_table import compact_age as _compact_age

register = template.Library()


@register.filter
def compact_age(value: datetime | None) -> str:
    """ "4m", "3h", "2d": how long ago, as the inbox rows print it."""
    return _compact_age(value, timezone.now()) if value else ""


@register.simple_tag
def once_per_language(name: str) -> SafeString:
    """A partial of fixed text (`{% translate %}`s and markup, no variables), rendered once per
    language and process: the inbox's shortcut help and table head were 24 `{% translate %}`s on
    every page view. With DEBUG on it is rendered each time, so an edited template shows at once."""
    if settings.DEBUG:
        return mark_safe(render_to_string(name))  # noqa: S308  (our template, autoescaped)
    return _rendered(name, translation.get_language())


@functools.lru_cache(maxsize=64)
def _rendered(name: str, language: str | None) -> SafeString:
    return mark_safe(render_to_string(name))  # noqa: S308  (our template, autoescaped)
