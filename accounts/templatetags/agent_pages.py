"""Template tags of every agent page (templates/base.html)."""

from __future__ import annotations

import functools

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

NAV_TEMPLATE = "accounts/partials/agent_nav.html"


@register.simple_tag(takes_context=True)
def agent_nav(context: template.Context) -> SafeString:
    """The top bar's links (templates/accounts/partials/agent_nav.html). They depend on nothing
    but the language, the page (`nav`), the agent's role and the profile, which are the partial's
    whole context and the key it is remembered under: ~30 `{% if %}`/`{% translate %}` nodes
    rendered once per combination and process instead of on every page. Each render when DEBUG
    is on, so an edited template shows at once."""
    user = context.get("user")
    key = (
        str(context.get("nav") or ""),
        str(getattr(user, "role", "")),
        bool(getattr(user, "is_manager", False)),
        bool(context.get("EMBEDDED_PROFILE")),
    )
    if settings.DEBUG:
        return _render_nav(*key)
    return _nav(translation.get_language(), *key)


def _render_nav(nav: str, role: str, is_manager: bool, embedded: bool) -> SafeString:
    context = {"nav": nav, "role": role, "is_manager": is_manager, "EMBEDDED_PROFILE": embedded}
    return mark_safe(render_to_string(NAV_TEMPLATE, context))  # noqa: S308  (our template, autoescaped)


@functools.lru_cache(maxsize=256)
def _nav(language: str | None, nav: str, role: str, is_manager: bool, embedded: bool) -> SafeString:
    return _render_nav(nav, role, is_manager, embedded)
