"""Business hours over HTTP: anyone reads them (the widget does), admins set them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Router, Schema

from accounts.api_auth import AgentSession, BearerToken
from accounts.http import AgentRequest
from accounts.models import Role
from core.api import ApiError
from hours import services
from teams.models import Team

router = Router(tags=["business hours"])


def _admin_only(user: Any) -> Any:
    # Checked while authenticating, before the body is parsed: an agent gets 403 whatever
    # they send, never a 422 that tells them about the body.
    if user is not None and not user.has_role(Role.ADMIN):
        raise PermissionDenied("Only an admin may change business hours")
    return user


class AdminBearer(BearerToken):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return _admin_only(super().authenticate(request, token))


class AdminSession(AgentSession):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return _admin_only(super().authenticate(request, key))


class BusinessHoursIn(Schema):
    timezone: str = Field(..., max_length=64, examples=["Europe/Madrid"])
    week: dict[str, list[list[str]]] = Field(
        ..., examples=[{"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}]
    )
    holidays: list[str] = Field(default_factory=list, examples=[["2026-12-25"]])


class BusinessHoursOut(Schema):
    team: str | None = Field(None, description="The team asked for (?team=), null: the shop's")
    own_hours: bool = Field(
        True, description="False: the team has no hours of its own and follows the shop's"
    )
    timezone: str
    week: dict[str, list[list[str]]]
    holidays: list[str]
    open: bool = Field(..., description="Open right now")
    next_open_at: datetime | None = Field(..., description="Now when open; null: no hours ahead")


def _out(hours: services.Hours, team: Team | None = None) -> dict[str, Any]:
    return {
        "team": team.slug if team else None,
        "own_hours": services.has_own_hours(team) if team else True,
        "timezone": hours.timezone,
        "week": hours.week,
        "holidays": hours.holidays,
        "open": services.is_open(hours),
        "next_open_at": services.next_open_at(hours),
    }


@router.get(
    "/business-hours", auth=None, response=BusinessHoursOut, tags=["business hours", "widget"]
)
def get_hours(request: HttpRequest, team: str = "") -> dict[str, Any]:
    """`?team=<slug>`: the hours that team's chats follow (its own, else the shop's); 404
    `unknown_team`."""
    chosen = _team(team)
    return _out(services.current(team_id=chosen.pk if chosen else None), chosen)


def _team(slug: str) -> Team | None:
    if not slug:
        return None
    try:
        return services.team_by_slug(slug)
    except services.HoursError as exc:
        raise ApiError(exc.status, str(exc), exc.code) from exc


@router.put("/business-hours", auth=[AdminBearer(), AdminSession()], response=BusinessHoursOut)
def put_hours(request: AgentRequest, payload: BusinessHoursIn, team: str = "") -> dict[str, Any]:
    """Admins only. `?team=<slug>` sets that team's own hours (its chats follow them). 422 for
    an unknown timezone or day, a bad time, overlapping or inverted ranges, or a holiday that is
    not a date; 404 `unknown_team`."""
    chosen = _team(team)
    try:
        hours = services.set_hours(
            timezone=payload.timezone,
            week=payload.week,
            holidays=payload.holidays,
            by=request.user,
            team=chosen,
        )
    except services.HoursError as exc:
        raise ApiError(exc.status, str(exc), exc.code) from exc
    return _out(hours, chosen)


@router.delete("/business-hours", auth=[AdminBearer(), AdminSession()], response=BusinessHoursOut)
def delete_team_hours(request: AgentRequest, team: str) -> dict[str, Any]:
    """Admins only: team `?team=<slug>` drops its own hours and follows the shop's again."""
    chosen = _team(team)
    if chosen is None:
        raise ApiError(422, "Name the team: ?team=<slug> (the shop's hours stay)", "team_required")
    services.use_shop_hours(chosen, by=request.user)
    return _out(services.current(team_id=chosen.pk), chosen)
