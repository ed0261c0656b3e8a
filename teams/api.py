"""Teams over HTTP: every agent reads them (the console transfers to a team); managers change
them and agents' chat capacity."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from accounts.api_auth import role_auth
from accounts.http import AgentRequest
from accounts.models import User
from core.api import ApiError
from teams import services
from teams.models import Team

router = Router(tags=["teams"])


class TeamMemberOut(Schema):
    id: int
    name: str
    email: str
    max_chats: int


class TeamOut(Schema):
    id: int
    name: str
    slug: str
    page_prefixes: list[str] = Field(
        ..., description="Routing rule: chats started on a page whose path begins with one"
    )
    members: list[TeamMemberOut]


class TeamListOut(Schema):
    items: list[TeamOut]


class TeamIn(Schema):
    name: str = Field(..., max_length=80)
    slug: str = Field("", max_length=50, description="Defaults to the name, slugified")
    members: list[int] = Field(default_factory=list, max_length=500)
    page_prefixes: list[str] = Field(default_factory=list, max_length=services.MAX_PREFIXES)


class TeamPatch(Schema):
    name: str | None = Field(None, max_length=80)
    slug: str | None = Field(None, max_length=50)
    members: list[int] | None = Field(None, max_length=500)
    page_prefixes: list[str] | None = Field(None, max_length=services.MAX_PREFIXES)


class CapacityIn(Schema):
    max_chats: int = Field(..., ge=0, le=services.MAX_CHATS_LIMIT)


def _member(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "name": user.display_name,
        "email": user.email,
        "max_chats": user.max_chats,
    }


def _team(team: Team) -> dict[str, Any]:
    return {
        "id": team.pk,
        "name": team.name,
        "slug": team.slug,
        "page_prefixes": list(team.page_prefixes or []),
        "members": [_member(m) for m in team.members.all()],
    }


def _refused(error: services.TeamError) -> ApiError:
    return ApiError(409 if error.code == "duplicate" else 422, str(error), error.code)


@router.get("/teams", response=TeamListOut)
def list_teams(request: HttpRequest) -> dict[str, Any]:
    teams = Team.objects.prefetch_related("members").order_by("name")[:200]
    return {"items": [_team(t) for t in teams]}


@router.post("/teams", response={201: TeamOut}, auth=role_auth("manager"))
def create_team(request: AgentRequest, payload: TeamIn) -> Status[dict[str, Any]]:
    try:
        team = services.create_team(
            name=payload.name,
            slug=payload.slug,
            member_ids=payload.members,
            page_prefixes=payload.page_prefixes,
            by=request.auth,
        )
    except services.TeamError as error:
        raise _refused(error) from None
    return Status(201, _team(team))


@router.get("/teams/{team_id}", response=TeamOut)
def get_team(request: HttpRequest, team_id: int) -> dict[str, Any]:
    return _team(get_object_or_404(Team, pk=team_id))


@router.patch("/teams/{team_id}", response=TeamOut, auth=role_auth("manager"))
def update_team(request: AgentRequest, team_id: int, payload: TeamPatch) -> dict[str, Any]:
    team = get_object_or_404(Team, pk=team_id)
    try:
        team = services.update_team(
            team,
            name=payload.name,
            slug=payload.slug,
            member_ids=payload.members,
            page_prefixes=payload.page_prefixes,
            by=request.auth,
        )
    except services.TeamError as error:
        raise _refused(error) from None
    return _team(team)


@router.delete("/teams/{team_id}", response={204: None}, auth=role_auth("manager"))
def delete_team(request: AgentRequest, team_id: int) -> HttpResponse:
    services.delete_team(get_object_or_404(Team, pk=team_id), by=request.auth)
    return HttpResponse(status=204)


@router.patch("/teams/agents/{user_id}", response=TeamMemberOut, auth=role_auth("manager"))
def set_capacity(request: AgentRequest, user_id: int, payload: CapacityIn) -> dict[str, Any]:
    """An agent's chat capacity: how many open chats automatic routing gives them at once."""
    agent = get_object_or_404(User, pk=user_id, is_active=True)
    try:
        agent = services.set_max_chats(agent, max_chats=payload.max_chats, by=request.auth)
    except services.TeamError as error:
        raise _refused(error) from None
    return _member(agent)
