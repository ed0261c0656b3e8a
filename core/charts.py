"""Server-rendered SVG bar charts: readable without JavaScript, printable, no vendored library."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ROW = 26
LABEL_WIDTH = 200
BAR_WIDTH = 360
VALUE_WIDTH = 90


def bar_chart(
    rows: Sequence[tuple[str, Decimal | int | float]], *, title: str, unit: str = ""
) -> SafeString:
    """A horizontal bar chart of (label, value) rows, as inline SVG with a text alternative."""
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    if not rows:
        return mark_safe(f'<p class="muted">No data for {escape(title.lower())} yet.</p>')  # noqa: S308
    height = ROW * len(rows) + 8
    peak = max(float(v) for _, v in rows) or 1.0
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * ROW
        length = max(1.0, float(value) / peak * BAR_WIDTH) if float(value) > 0 else 0.0
        shown = f"{value:,.2f}" if isinstance(value, Decimal | float) else f"{value:,}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" font-size="13">'
            f"{escape(label[:32])}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}" '
            f'fill="#2f6fde" rx="2"><title>{escape(label)}: {escape(shown)}{escape(unit)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 17}" font-size="13">'
            f"{escape(shown)}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    # Every interpolated label and value above went through escape().
    return mark_safe("".join(parts))  # noqa: S308
