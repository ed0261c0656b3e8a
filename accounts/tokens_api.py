"""API tokens over HTTP (the owner's and, for admins, everyone's) and an admin's reset of a
person's second factors."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from accounts import auditing, services
from accounts.http import AgentRequest
from accounts.models import ApiToken, Role, User, hash_token
from accounts.reauth import ensure_second_factor_again
from core.api import ApiError

router = Router(tags=["accounts"])


class TokenIn(Schema):
    name: str = Field("", max_length=100)
    scopes: list[str] = Field(
        default_factory=lambda: ["read"],
        min_length=1,
        max_length=4,
        description="read, write, grants, admin (default: read only)",
    )
    expires_at: datetime | None = Field(
        None, description="Optional; the token answers 401 after it"
    )


class TokenOut(Schema):
    id: int
    name: str
    owner: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class NewTokenOut(TokenOut):
    token: str = Field(..., description="The token itself: shown this once, only its hash is kept")


class TokenList(Schema):
    items: list[TokenOut]


class FactorsReset(Schema):
    removed: int


def _out(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.pk,
        "name": token.name,
        "owner": token.user.email,
        "prefix": token.prefix,
        "scopes": token.scopes or [],
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "active": token.is_active,
    }


@router.get("/tokens", response=TokenList, summary="Your API tokens (an admin's: everyone's)")
def list_tokens(request: AgentRequest, owner: int | None = None) -> dict[str, object]:
    viewer: User = request.user
    owner_user = get_object_or_404(User, pk=owner) if owner is not None else None
    return {"items": [_out(t) for t in services.visible_tokens(viewer, owner=owner_user)]}


@router.post(
    "/tokens",
    response={201: NewTokenOut},
    summary="Create a token for yourself (a session that passed the second factor just now)",
)
def create_token(request: AgentRequest, payload: TokenIn) -> Status:
    ensure_second_factor_again(request)
    user: User = request.user
    try:
        raw = services.issue_api_token(
            user,
            name=payload.name,
            scopes=payload.scopes,
            expires_at=payload.expires_at,
            by=user,
            **auditing.request_origin(request),
        )
    except DjangoValidationError as error:
        raise ApiError(422, " ".join(error.messages), "invalid") from None
    token = ApiToken.objects.select_related("user").get(digest=hash_token(raw))
    return Status(201, {**_out(token), "token": raw})


@router.post(
    "/tokens/{token_id}/revoke", response=TokenOut, summary="Revoke a token (owner or admin)"
)
def revoke_token(request: AgentRequest, token_id: int) -> dict[str, object]:
    try:
        token = services.revoke_api_token(
            token_id,
            by=request.user,
            **auditing.request_origin(request),
        )
    except ApiToken.DoesNotExist:
        raise ApiError(404, "No such token", "not_found") from None
    return _out(token)


@router.post(
    "/agents/{user_id}/reset-factors",
    response=FactorsReset,
    summary="Remove every second factor of a person (admin); they set up a new one at next login",
)
def reset_factors(request: AgentRequest, user_id: int) -> dict[str, int]:
    admin: User = request.user
    if not admin.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins may reset second factors")
    person = get_object_or_404(User, pk=user_id)
    removed = services.reset_second_factors(person, by=admin, **auditing.request_origin(request))
    return {"removed": removed}
