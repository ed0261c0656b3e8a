"""How the v1 API knows who calls: a bearer token (`manage.py issue_api_token`) or the agent's
session with CSRF. The API instance (supportdesk/api.py) lists both."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from accounts.services import user_for_token
from audit.context import set_actor


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        set_actor(user, token_prefix=token[:10], via="api")
        return user


class AgentSession(SessionAuth):
    """Session auth for logged-in agents; ninja enforces CSRF on unsafe methods with it."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None
