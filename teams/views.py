"""The managers' teams page: teams (members, page prefixes) and each agent's chat capacity."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.http import AgentRequest
from accounts.models import Role, User
from teams import services
from teams.models import Team


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()][:500]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text[:5000].splitlines() if line.strip()]


@login_required
@require_http_methods(["GET", "POST"])
def teams_page(request: AgentRequest) -> HttpResponse:
    user = request.user
    if not user.has_role(Role.MANAGER):
        raise PermissionDenied("Only a manager may change teams")
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                team = services.create_team(
                    name=request.POST.get("name", "")[:200],
                    slug=request.POST.get("slug", "")[:100],
                    member_ids=_ids(request.POST.getlist("members")),
                    page_prefixes=_lines(request.POST.get("page_prefixes", "")),
                    by=user,
                )
                messages.success(request, f"Team {team.name} created.")
            elif action == "update":
                team = get_object_or_404(Team, pk=request.POST.get("team_id", "0") or 0)
                services.update_team(
                    team,
                    name=request.POST.get("name", "")[:200],
                    slug=request.POST.get("slug", "")[:100],
                    member_ids=_ids(request.POST.getlist("members")),
                    page_prefixes=_lines(request.POST.get("page_prefixes", "")),
                    by=user,
                )
                messages.success(request, f"Team {team.name} saved.")
            elif action == "delete":
                team = get_object_or_404(Team, pk=request.POST.get("team_id", "0") or 0)
                services.delete_team(team, by=user)
                messages.success(request, f"Team {team.name} deleted.")
            elif action == "capacity":
                agent = get_object_or_404(
                    User, pk=request.POST.get("user_id", "0") or 0, is_active=True
                )
                raw = request.POST.get("max_chats", "").strip()
                if not raw.isdigit():
                    raise services.TeamError("max_chats is a whole number", code="invalid")
                services.set_max_chats(agent, max_chats=int(raw), by=user)
                messages.success(request, f"{agent.display_name} takes up to {raw} chats at once.")
            else:
                raise services.TeamError("Unknown action", code="invalid")
        except services.TeamError as exc:
            error = str(exc)
        else:
            return redirect("teams:page")
    teams = list(Team.objects.prefetch_related("members").order_by("name"))
    agents = list(
        User.objects.filter(is_active=True)
        .prefetch_related("teams")
        .order_by("name", "email")[:500]
    )
    for team in teams:
        team.member_ids = {m.pk for m in team.members.all()}
        team.prefix_text = "\n".join(team.page_prefixes or [])
    return render(
        request,
        "teams/teams.html",
        {
            "nav": "teams",
            "teams": teams,
            "agents": agents,
            "error": error,
            "routing": settings.SUPPORTDESK_CHAT_ROUTING,
        },
        status=422 if error else 200,
    )
