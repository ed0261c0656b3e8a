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
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


class AgentSession(SessionAuth):
    """Session auth for logged-in agents; ninja enforces CSRF on unsafe methods with it."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None
