"""Template tags and filters of the agent pages."""

from __future__ import annotations

import functools
from datetime import datetime

from django import template
from django.conf import settings
from django.template.base import FilterExpression, TextNode, Variable
from django.template.defaulttags import URLNode
from django.template.loader import render_to_string
from django.templatetags.i18n import TranslateNode
from django.templatetags.static import StaticNode
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


class FixedNode(template.Node):
    """`{% fixed %}...{% endfixed %}` rendered: once per language and process (each DEBUG render
    when DEBUG is on, so an edited template shows at once)."""

    def __init__(self, nodelist: template.NodeList) -> None:
        self.nodelist = nodelist
        self.rendered: dict[str | None, SafeString] = {}

    def render(self, context: template.Context) -> str:
        if settings.DEBUG:
            return self.nodelist.render(context)
        language = translation.get_language()
        if (out := self.rendered.get(language)) is None:
            out = self.rendered[language] = mark_safe(self.nodelist.render(context))  # noqa: S308  (rendered by the template engine, autoescaped)
        return out


def _literal(expression: FilterExpression) -> bool:
    var = expression.var
    return not expression.filters and (
        isinstance(var, str) or (isinstance(var, Variable) and var.lookups is None)
    )


def _fixed(node: template.Node) -> bool:
    """Whether `node` prints the same for every request in one language: text, and
    `{% translate "..." %}`, `{% url 'name' %}`, `{% static '...' %}` of literals only."""
    if isinstance(node, TextNode):
        return True
    if isinstance(node, TranslateNode):
        return node.asvar is None and _literal(node.filter_expression)
    if isinstance(node, URLNode):
        arguments = [node.view_name, *node.args, *node.kwargs.values()]
        return node.asvar is None and all(_literal(a) for a in arguments)
    if isinstance(node, StaticNode):
        return node.varname is None and _literal(node.path)
    return False


@register.tag
def fixed(parser: template.base.Parser, token: template.base.Token) -> FixedNode:
    """A stretch of fixed markup (text and literal `{% translate %}`, `{% url %}`, `{% static %}`)
    rendered once per language and process: the inbox page's ~35 fixed `{% translate %}`s and
    `{% url %}`s cost ~1 ms of CPU a page view. Anything that could differ between requests (a
    variable, a csrf token, another tag) is refused when the template is parsed."""
    nodelist = parser.parse(("endfixed",))
    parser.delete_first_token()
    for node in nodelist:
        if not _fixed(node):
            raise template.TemplateSyntaxError(
                f"{{% fixed %}} holds fixed markup only, not {node!r}"
            )
    return FixedNode(nodelist)
