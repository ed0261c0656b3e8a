"""`/reports/`: the product-wide page for managers. It sits above the apps it reports on and
only puts their sections together; each app computes its own numbers and charts
(`wow_credits.reports`, `csat.reports`, `team.reports`, `tickets.reports`) with the shared `core.charts`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.http import AgentRequest
from csat.reports import report_context as csat_report_context
from team.reports import hours_chart as team_hours_chart
from tickets.reports import wait_report_context
from wow_credits.reports import report_context as wow_report_context

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}


@login_required
@require_GET
def reports(request: AgentRequest) -> HttpResponse:
    if not request.user.is_manager:
        raise PermissionDenied("Reports are for managers")
    days = PERIODS.get(request.GET.get("period", ""), 90)
    context = {
        "nav": "reports",
        "days": days,
        "period": request.GET.get("period", "90d"),
        "periods": [("30d", "30 days"), ("90d", "90 days"), ("365d", "1 year")],
        **wow_report_context(days),
        **csat_report_context(days),
        **wait_report_context(days),
        "hours_chart": team_hours_chart(),
    }
    return render(request, "reports/reports.html", context)
