"""WOW grants on the manager reports page (`/reports/`, the reports app): spend and grants by
kind, agent and week, stories by value, repeat purchases of WOWed customers against the rest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from core.charts import bar_chart
from customers.models import Customer, Order
from wow_credits import ledger
from wow_credits.models import CoreValue, Grant, GrantKind, GrantStatus


def _repeat_rate(wowed: bool, kind: str | None = None) -> tuple[int, int]:
    """(customers with an order, of whom with more than one) among WOWed customers or the others."""
    orders = Subquery(
        Order.objects.filter(customer=OuterRef("pk"))
        .values("customer")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    grants = Grant.objects.filter(customer=OuterRef("pk"), status=GrantStatus.EXECUTED)
    if kind:
        grants = grants.filter(kind=kind)
    qs = Customer.objects.annotate(n=Coalesce(orders, 0), wowed=Exists(grants)).filter(
        n__gte=1, wowed=wowed
    )
    result = qs.aggregate(total=Count("id"), repeat=Count("id", filter=Q(n__gt=1)))
    return result["total"], result["repeat"]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def report_context(days: int) -> dict[str, Any]:
    """The WOW part of the reports page over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    counted = Grant.objects.filter(status__in=ledger.COUNTED, created_at__gte=since)
    by_kind = list(
        counted.values("kind").annotate(n=Count("id"), spend=Sum("amount")).order_by("-n")
    )
    labels = dict(GrantKind.choices)
    by_agent = list(
        counted.values("agent__name", "agent__email")
        .annotate(n=Count("id"), spend=Sum("amount"))
        .order_by("-n")[:15]
    )
    by_value = list(
        CoreValue.objects.annotate(
            n=Count("stories", filter=Q(stories__created_at__gte=since), distinct=True)
        ).order_by("-n", "position")
    )
    weekly = list(
        counted.annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(n=Count("id"), spend=Sum("amount"))
        .order_by("week")
    )
    spend = counted.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    wowed_total, wowed_repeat = _repeat_rate(True)
    other_total, other_repeat = _repeat_rate(False)
    outcomes = []
    for kind, label in GrantKind.choices:
        if kind == GrantKind.COWORKER_BONUS:
            continue
        total, repeat = _repeat_rate(True, kind)
        if total:
            outcomes.append({"label": label, "customers": total, "rate": _pct(repeat, total)})

    def name(row: Mapping[str, Any]) -> str:
        return row["agent__name"] or row["agent__email"].split("@")[0]

    return {
        "spend": spend,
        "grant_count": sum(r["n"] for r in by_kind),
        "kind_chart": bar_chart(
            [(labels.get(r["kind"], r["kind"]), r["n"]) for r in by_kind], title="Grants by kind"
        ),
        "kind_spend_chart": bar_chart(
            [(labels.get(r["kind"], r["kind"]), r["spend"] or Decimal("0")) for r in by_kind],
            title="Spend by kind",
        ),
        "agent_chart": bar_chart([(name(r), r["n"]) for r in by_agent], title="Grants by agent"),
        "value_chart": bar_chart([(v.name, v.n) for v in by_value], title="Stories by value"),
        "weekly_chart": bar_chart(
            [(f"{r['week']:%Y-%m-%d}", r["n"]) for r in weekly], title="Grants per week"
        ),
        "repeat_chart": bar_chart(
            [
                ("WOWed customers", round(100 * wowed_repeat / wowed_total) if wowed_total else 0),
                ("Other customers", round(100 * other_repeat / other_total) if other_total else 0),
            ],
            title="Repeat-purchase rate",
            unit="%",
        ),
        "wowed": {"total": wowed_total, "rate": _pct(wowed_repeat, wowed_total)},
        "others": {"total": other_total, "rate": _pct(other_repeat, other_total)},
        "outcomes": outcomes,
        "failed": Grant.objects.filter(status=GrantStatus.FAILED).select_related("agent")[:20],
    }
