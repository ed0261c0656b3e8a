"""The "All-hands hours" chart of /reports/: everyone's hours this season, by name."""

from __future__ import annotations

from django.utils.safestring import SafeString

from core.charts import bar_chart
from team import services


def hours_chart(season: services.Season | None = None) -> SafeString:
    rows = services.tally(season)
    return bar_chart(
        [(r.name, r.hours) for r in rows if r.seconds > 0],
        title=f"Support hours this season (goal {services.goal_hours()} h each)",
        unit=" h",
    )
