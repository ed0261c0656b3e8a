"""The reports page's customer-wait section: how long customers waited for a first reply and for a
resolution, as distributions over the period (`core.charts`). About the customer's wait only: no
figure per agent, nothing that ranks or times the people answering."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.safestring import SafeString

from core.charts import bar_chart
from tickets.models import OPEN_STATUSES, Status, Ticket, TicketType

# (label, upper bound of the wait) per bucket; the last one has none.
BUCKETS: list[tuple[str, timedelta | None]] = [
    ("under 1 hour", timedelta(hours=1)),
    ("1 to 4 hours", timedelta(hours=4)),
    ("4 to 8 hours", timedelta(hours=8)),
    ("8 to 24 hours", timedelta(hours=24)),
    ("1 to 3 days", timedelta(days=3)),
    ("over 3 days", None),
]


def _buckets(qs: Any, start: str, end: str) -> list[tuple[str, int]]:
    """Count the tickets of `qs` per bucket of `end - start`, in one query."""
    wait = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    qs = qs.filter(**{f"{end}__isnull": False}).annotate(wait=wait)
    aggregates = {}
    lower: timedelta | None = None
    for index, (_, upper) in enumerate(BUCKETS):
        condition = Q()
        if lower is not None:
            condition &= Q(wait__gte=lower)
        if upper is not None:
            condition &= Q(wait__lt=upper)
        aggregates[f"b{index}"] = Count("id", filter=condition)
        lower = upper
    counts = qs.aggregate(**aggregates)
    return [(label, counts[f"b{i}"]) for i, (label, _) in enumerate(BUCKETS)]


def wait_report_context(days: int) -> dict[str, Any]:
    """`first_wait_chart`, `resolution_wait_chart` and `still_waiting` (with `waited_too_long`)
    for tickets customers opened in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    opened = (
        Ticket.objects.filter(created_at__gte=since, merged_into__isnull=True)
        .exclude(type=TicketType.CARE)
        .exclude(status=Status.SPAM)
    )
    first = _buckets(opened, "created_at", "first_responded_at")
    resolved = _buckets(opened, "created_at", "solved_at")
    waiting = opened.filter(status__in=OPEN_STATUSES, customer_waiting_since__isnull=False)
    now = timezone.now()
    still = waiting.aggregate(
        total=Count("id"),
        too_long=Count(
            "id",
            filter=Q(first_response_due_at__lte=now) | Q(resolution_due_at__lte=now),
        ),
    )
    return {
        "first_wait_chart": _chart(first, "How long customers waited for a first reply"),
        "resolution_wait_chart": _chart(resolved, "How long customers waited for a resolution"),
        "still_waiting": still["total"],
        "waited_too_long": still["too_long"],
    }


def _chart(rows: list[tuple[str, int]], title: str) -> SafeString:
    return bar_chart(rows if any(n for _, n in rows) else [], title=title, unit=" tickets")
