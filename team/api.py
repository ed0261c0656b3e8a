"""Support hours over the API: the season tally, and handle time of a ticket or chat (information)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from livechat.models import Conversation
from team import services
from tickets.models import Ticket

router = Router(tags=["team"])


class PersonHoursOut(Schema):
    user_id: int
    name: str
    email: str
    team: str
    trainee: bool
    hours: float
    goal_hours: int
    percent: int
    tickets_handled: int
    chats_handled: int
    median_chat_seconds: int | None


class HoursOut(Schema):
    items: list[PersonHoursOut]
    goal_hours: int
    season_start: str
    season_end: str | None


@router.get("/team/hours", response=HoursOut)
def team_hours(request: HttpRequest, team: str = "") -> dict[str, Any]:
    """Everyone's support hours this season toward the goal, sorted by name (never by speed)."""
    season = services.current_season()
    return {
        "items": [row.as_dict() for row in services.tally(season, team=team.strip()[:80])],
        "goal_hours": services.goal_hours(),
        "season_start": season.start.date().isoformat(),
        "season_end": season.end.date().isoformat() if season.end else None,
    }


class ChatHandleTimeOut(Schema):
    with_agent_seconds: int | None
    first_answer_seconds: int | None
    ongoing: bool
    text: str


def _seconds(value: Any) -> int | None:
    return int(value.total_seconds()) if value is not None else None


@router.get("/team/chats/{chat_id}/handle-time", response=ChatHandleTimeOut)
def chat_handle_time(request: HttpRequest, chat_id: int) -> dict[str, Any]:
    """How long the chat has been with an agent and how soon they first answered: information."""
    handle = services.chat_handle_time(get_object_or_404(Conversation, pk=chat_id))
    return {
        "with_agent_seconds": _seconds(handle.with_agent),
        "first_answer_seconds": _seconds(handle.first_answer),
        "ongoing": handle.ongoing,
        "text": services.describe_chat_handle_time(handle),
    }


class TicketHandleTimeOut(Schema):
    first_response_seconds: int | None
    time_to_solve_seconds: int | None


@router.get("/team/tickets/{ticket_id}/handle-time", response=TicketHandleTimeOut)
def ticket_handle_time(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    handle = services.ticket_handle_time(get_object_or_404(Ticket, pk=ticket_id))
    return {
        "first_response_seconds": _seconds(handle.first_response),
        "time_to_solve_seconds": _seconds(handle.time_to_solve),
    }
