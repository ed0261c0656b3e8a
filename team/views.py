"""Pages of everyone on support: the team's hours toward the goal, one person's page, heartbeats."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AgentRequest
from accounts.models import User
from core.charts import bar_chart
from core.security import parse_json
from team import services
from team.models import ActivitySource


@require_POST
def heartbeat(request: AgentRequest) -> JsonResponse:
    """`POST /team/heartbeat` from static/js/activity.js: {"visible": bool, "idle_seconds": int}.

    Session auth with the CSRF header. Counted only when the page was visible and used lately.
    """
    if not request.user.is_authenticated or not request.user.is_active:
        return JsonResponse({"detail": "Log in first", "code": "unauthorized"}, status=401)
    try:
        data = parse_json(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return JsonResponse({"detail": "A JSON object is expected", "code": "invalid"}, status=400)
    idle = data.get("idle_seconds")
    span = services.record_heartbeat(
        request.user,
        source=ActivitySource.PAGE,
        visible=data.get("visible") is True,
        idle_seconds=idle if isinstance(idle, int) and not isinstance(idle, bool) else None,
    )
    return JsonResponse({"counted": span is not None})


@login_required
@require_GET
def team_page(request: HttpRequest) -> HttpResponse:
    team = request.GET.get("team", "").strip()[:80]
    season = services.current_season()
    rows = services.tally(season, team=team)
    context: dict[str, Any] = {
        "nav": "team",
        "rows": rows,
        "team": team,
        "teams": services.teams(),
        "season": season,
        "goal_hours": services.goal_hours(),
        "total_hours": round(sum(r.seconds for r in rows) / 3600, 1),
        "reached": sum(1 for r in rows if r.reached),
    }
    return render(request, "team/team.html", context)


@login_required
@require_GET
def person_page(request: AgentRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    viewer: User = request.user
    if viewer.pk != person.pk and not viewer.is_manager:
        # Hours are on the team page for everyone; the rest of a person's page is theirs and leads'.
        raise PermissionDenied("Only this person and managers see this page")
    season = services.current_season()
    weeks = services.hours_by_week(person, season)
    context: dict[str, Any] = {
        "nav": "team",
        "person": person,
        "row": services.person_hours(person, season),
        "season": season,
        "weeks_chart": bar_chart(
            [(f"Week of {week:%b %d}", hours) for week, hours in weeks],
            title="Hours by week",
            unit=" h",
        ),
        "chat_lengths": services.chat_length_distribution(person, season),
        "first_responses": services.first_response_distribution(person, season),
        "csat_summary": _csat_summary(person),
    }
    return render(request, "team/person.html", context)


def _csat_summary(person: User) -> Any:
    # CSAT is its own app; the page shows its summary when the app provides one.
    try:
        from csat.services import summary_for_agent

        get_template("csat/partials/agent_summary.html")
    except (ImportError, TemplateDoesNotExist):
        return None
    return summary_for_agent(person)
