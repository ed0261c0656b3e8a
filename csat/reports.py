"""CSAT on the manager reports page: the weekly trend and WOWed customers against the rest.

Kept here so `/reports/` (the reports app) adds CSAT with one line; numbers come from csat.services.
"""

from __future__ import annotations

from typing import Any

from core.charts import bar_chart
from csat import services


def report_context(days: int) -> dict[str, Any]:
    points = services.trend(days)
    comparison = services.wow_comparison(days)
    groups = [("WOWed customers", comparison.wowed), ("Other customers", comparison.others)]
    return {
        "csat_trend": points,
        "csat_count": sum(p.count for p in points),
        "csat_average_chart": bar_chart(
            [(f"{p.week:%Y-%m-%d} (n={p.count})", p.average) for p in points],
            title="Average CSAT per week",
            unit=" / 5",
        ),
        "csat_count_chart": bar_chart(
            [(f"{p.week:%Y-%m-%d}", p.count) for p in points], title="CSAT ratings per week"
        ),
        "csat_wow_chart": bar_chart(
            [(label, g.average) for label, g in groups if g.average is not None],
            title="Average CSAT, WOWed customers and others",
            unit=" / 5",
        ),
        "csat_wow": comparison,
    }
