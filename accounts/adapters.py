"""How allauth fits Supportdesk: no self sign-up, password guessing handled by accounts.throttle,
and single sign-on that creates the employee at first login with the role from a claim."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

from accounts.models import Role, User


def _signed_in_at(request: HttpRequest, user: Any) -> float | None:
    """When this session signed in (its first authentication record), if allauth recorded it."""
    records = get_authentication_records(request, user)
    return float(records[0].get("at", 0)) if records else None


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Employees are created by admins, `create_agent` or single sign-on, never by themselves.
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Setting up one's first factors right after signing in needs no second proof (the
        fresh login is it, and SUPPORTDESK_REQUIRE_2FA sends new people there): until then, and
        for the few minutes after, the person has no factor older than this sign-in. Everything
        else asks again; for people with a factor only the factor counts (accounts/urls.py)."""
        request = context.request
        user = getattr(request, "user", None)
        if app == "allauth.mfa" and user is not None and user.is_authenticated:
            signed_in_at = _signed_in_at(request, user)
            if signed_in_at is not None and time.time() - signed_in_at < (
                account_settings.REAUTHENTICATION_TIMEOUT
            ):
                from allauth.mfa.models import Authenticator

                older = Authenticator.objects.filter(
                    user=user, created_at__lt=datetime.fromtimestamp(signed_in_at, tz=UTC)
                )
                if not older.exists():
                    return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # allauth would refuse an account after 5 failures: that is the lockout finding 7 is about.
        # accounts.forms/throttle challenge instead; by address, core.ratelimit answers 429.
        return None


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_label(self, user: Any) -> str:
        return str(getattr(user, "email", "") or super().get_totp_label(user))


def role_from_claims(data: dict[str, Any]) -> Role:
    """The role named by SUPPORTDESK_OIDC_ROLE_CLAIM (a string or a list of strings, the widest
    known role wins), else SUPPORTDESK_OIDC_DEFAULT_ROLE."""
    value = data.get(settings.SUPPORTDESK_OIDC_ROLE_CLAIM)
    values = value if isinstance(value, list) else [value]
    known = [Role(v) for v in values if isinstance(v, str) and v in Role.values]
    if not known:
        return Role(settings.SUPPORTDESK_OIDC_DEFAULT_ROLE)
    order = [Role.AGENT, Role.MANAGER, Role.ADMIN]
    return max(known, key=order.index)


def _claims(sociallogin: Any) -> dict[str, Any]:
    extra = sociallogin.account.extra_data or {}
    merged: dict[str, Any] = {}
    merged.update(extra.get("id_token") or {})
    merged.update(extra.get("userinfo") or {})
    return merged


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True  # just-in-time creation: the identity provider decides who is an employee

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        claims = _claims(sociallogin)
        user.email = (user.email or "").strip().lower()
        user.name = str(claims.get("name") or data.get("name") or "")[:150]
        user.role = role_from_claims(claims)
        return user

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        from accounts import auditing
        from accounts.services import set_role

        user = super().save_user(request, sociallogin, form)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        set_role(user, role=user.role)
        auditing.record(
            action="user.created_by_sso",
            actor=user,
            object_type="user",
            object_id=user.pk,
            **auditing.request_origin(request),
            detail={"email": user.email, "role": user.role},
        )
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Every SSO login brings the role the identity provider says now (promotion or demotion)."""
        super().pre_social_login(request, sociallogin)
        user = sociallogin.user
        if user is not None and user.pk and isinstance(user, User):
            role = role_from_claims(_claims(sociallogin))
            if role != user.role:
                from accounts.services import set_role

                set_role(user, role=role)
