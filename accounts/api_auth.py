"""How the v1 API knows who calls: a bearer token (`manage.py issue_api_token`) or the agent's
session with CSRF. The API instance (supportdesk/api.py) lists both."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from accounts.scopes import allows, cap_role, required_scope
from accounts.services import token_for
from audit.context import set_actor
from core.api import ApiError


class BearerToken(HttpBearer):
    """A person's token: live, unexpired, and with the scope this request needs (accounts/scopes.py)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_for(token)
        if api_token is None:
            return None
        if not allows(api_token, request.method or "GET", request.path):
            needed = required_scope(request.method or "GET", request.path)
            raise ApiError(403, f"This token lacks the {needed!r} scope", "insufficient_scope")
        user = cap_role(api_token.user, api_token)
        request.user = user
        set_actor(user, token_prefix=token[:10], via="api")
        request.api_token = api_token  # type: ignore[attr-defined]  # ours, on Django's request (read by reauth)
        return user


class AgentSession(SessionAuth):
    """Session auth for logged-in agents; ninja enforces CSRF on unsafe methods with it."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


class _RoleBearer(BearerToken):
    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return _require(super().authenticate(request, token), self.role)


class _RoleSession(AgentSession):
    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return _require(super().authenticate(request, key), self.role)


def _require(user: Any, role: str) -> Any:
    from django.core.exceptions import PermissionDenied

    if user is not None and not user.has_role(role):
        raise PermissionDenied(f"Only {role}s may do this")
    return user


def role_auth(role: str) -> list[Any]:
    """`auth=` for an operation open to `role` and wider: checked before the body is read, so
    a caller without the role gets 403 even for a body that would not validate."""
    return [_RoleBearer(role), _RoleSession(role)]
