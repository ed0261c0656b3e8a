"""`POST /api/v1/agents/{id}/deactivate` (admin): cut a person off at once (accounts/cutoff.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from accounts.cutoff import deactivate_agent
from accounts.http import AgentRequest
from accounts.models import Role, User
from core.api import ApiError

router = Router(tags=["agents"])


class AgentStateOut(Schema):
    id: int
    email: str
    is_active: bool


@router.post(
    "/agents/{agent_id}/deactivate",
    response=AgentStateOut,
    summary="Deactivate an employee now (admin)",
    description="Their sessions end, their API tokens answer 401 and their open agent sockets "
    "close within a second on every server process. Their pending grants stay visible and "
    "undoable by others. Repeating it changes nothing.",
)
def deactivate(request: AgentRequest, agent_id: int) -> User:
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins may deactivate people")
    user = get_object_or_404(User, pk=agent_id)
    if user.pk == request.user.pk:
        # Another admin (or `manage.py deactivate_agent`) does it: no admin locks the desk out.
        raise ApiError(422, "You cannot deactivate yourself", "self_deactivation")
    return deactivate_agent(user, by=request.user)
