"""What a bearer token's scopes allow, decided in one place (the API's auth layer).

- `read`: safe methods (GET, HEAD, OPTIONS).
- `write`: every other method, except on grants.
- `grants`: creating and undoing WOW grants (`/api/v1/wow/grants...` with an unsafe method).
- `admin`: the person's admin powers. Without it an admin's token acts as a manager (the role is
  capped in memory for that request, never saved).
The agent socket with a bearer token needs `write` (it answers chats).
"""

from __future__ import annotations

from accounts.models import ApiToken, Role, Scope, User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GRANT_PREFIXES = ("/api/v1/wow/grants",)


def required_scope(method: str, path: str) -> str:
    if method.upper() in SAFE_METHODS:
        return Scope.READ.value
    if path.startswith(GRANT_PREFIXES):
        return Scope.GRANTS.value
    return Scope.WRITE.value


def allows(token: ApiToken, method: str, path: str) -> bool:
    return required_scope(method, path) in (token.scopes or [])


def cap_role(user: User, token: ApiToken) -> User:
    """An admin's token without the `admin` scope acts as a manager for this request."""
    if user.role == Role.ADMIN and Scope.ADMIN.value not in (token.scopes or []):
        user.role = Role.MANAGER
        user.is_staff = False
        user.is_superuser = False
        user._role_capped_by_token = True
    return user
