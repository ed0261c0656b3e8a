"""Agent accounts, second factors and API tokens: the one way to create, change and resolve them."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import auditing
from accounts.models import ALL_SCOPES, ApiToken, Role, Scope, User, hash_token
from audit.services import record


def create_agent(
    email: str, *, role: Role | str, password: str | None, name: str = "", team: str = ""
) -> User:
    """Create or update an employee with `role`; admins may also use the Django admin."""
    role = Role(role)
    email = email.strip().lower()
    with transaction.atomic():
        user, created = User.objects.get_or_create(email=email)
        before = {"role": user.role, "name": user.name, "team": user.team}
        user.role = role
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        if name:
            user.name = name
        if team:
            user.team = team
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.set([group])
        after = {"role": user.role, "name": user.name, "team": user.team}
        changes = {
            k: (None if created else before[k], v)
            for k, v in after.items()
            if created or before[k] != v
        }
        if password:
            changes["password"] = ("", "")  # stored as "[redacted]": only the fact of a change
        record("user.created" if created else "user.updated", obj=user, changes=changes)
    return user


def set_role(user: User, *, role: Role | str) -> User:
    """Give `user` a role (and its group and admin-site access), e.g. from a single sign-on claim."""
    role = Role(role)
    with transaction.atomic():
        user.role = role
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save(update_fields=["role", "is_staff", "is_superuser"])
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.set([group])
    return user


# --- second factors ----------------------------------------------------------------------------

SECOND_FACTOR_TYPES = ("totp", "webauthn")  # recovery codes alone are not a factor to set up


def has_second_factor(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists()


def needs_second_factor_setup(user: object) -> bool:
    """True when SUPPORTDESK_REQUIRE_2FA is on and this logged-in employee has no second factor
    yet: they may only reach the pages that set one up (accounts/middleware.py)."""
    if not settings.SUPPORTDESK_REQUIRE_2FA:
        return False
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return False
    return not has_second_factor(user)


def second_factors(user: User) -> list[dict[str, object]]:
    from allauth.mfa.models import Authenticator

    items = []
    for authenticator in Authenticator.objects.filter(user=user).order_by("created_at"):
        name = ""
        if authenticator.type == Authenticator.Type.WEBAUTHN:
            name = str(authenticator.data.get("name", ""))
        items.append(
            {
                "id": authenticator.pk,
                "type": authenticator.type,
                "name": name,
                "created_at": authenticator.created_at,
                "last_used_at": authenticator.last_used_at,
            }
        )
    return items


def reset_second_factors(user: User, *, by: User, ip: str = "", user_agent: str = "") -> int:
    """An admin removes every second factor of `user` (lost phone, lost key); audited. The person
    sets up a new one at their next login when SUPPORTDESK_REQUIRE_2FA is on."""
    from allauth.mfa.models import Authenticator

    if not by.has_role(Role.ADMIN):
        raise PermissionError("Only admins may reset someone's second factors")
    with transaction.atomic():
        kinds = sorted(set(Authenticator.objects.filter(user=user).values_list("type", flat=True)))
        deleted, _ = Authenticator.objects.filter(user=user).delete()
        auditing.record(
            action="mfa.reset",
            actor=by,
            object_type="user",
            object_id=user.pk,
            ip=ip,
            user_agent=user_agent,
            detail={"email": user.email, "removed": kinds},
        )
    return deleted


# --- API tokens --------------------------------------------------------------------------------


def default_scopes(user: User) -> list[str]:
    scopes = [Scope.READ.value, Scope.WRITE.value, Scope.GRANTS.value]
    if user.has_role(Role.ADMIN):
        scopes.append(Scope.ADMIN.value)
    return scopes


def clean_scopes(user: User, scopes: list[str] | None) -> list[str]:
    if scopes is None:
        return default_scopes(user)
    chosen = sorted({str(s).strip().lower() for s in scopes if str(s).strip()})
    unknown = [s for s in chosen if s not in ALL_SCOPES]
    if unknown:
        raise ValidationError(f"Unknown scope(s) {', '.join(unknown)}; use {', '.join(ALL_SCOPES)}")
    if not chosen:
        raise ValidationError("A token needs at least one scope")
    if Scope.ADMIN.value in chosen and not user.has_role(Role.ADMIN):
        raise ValidationError("Only an admin's token may carry the admin scope")
    return [s for s in ALL_SCOPES if s in chosen]


def issue_api_token(
    user: User,
    *,
    name: str = "",
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    by: User | None = None,
    ip: str = "",
    user_agent: str = "",
) -> str:
    """Store a new token's hash and return the raw token; it cannot be recovered later.

    `scopes` None means every scope the person's role allows; `by` is who issued it (None: an
    operator on the server). Audited without the token."""
    chosen = clean_scopes(user, scopes)
    name = name.strip()[:100]
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future")
    ceiling = settings.SUPPORTDESK_API_TOKEN_MAX_DAYS
    if ceiling and by is not None:
        latest = timezone.now() + timedelta(days=ceiling)
        if expires_at is None or expires_at > latest:
            raise ValidationError(f"Tokens expire within {ceiling} days here")
    raw = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            scopes=chosen,
            digest=hash_token(raw),
            prefix=raw[:10],
            expires_at=expires_at,
            created_by=by,
        )
        auditing.record(
            action="token.created",
            actor=by,
            object_type="apitoken",
            object_id=token.pk,
            ip=ip,
            user_agent=user_agent,
            detail={"owner": user.email, "name": name, "scopes": chosen, "prefix": token.prefix},
        )
    return raw


def token_for(raw: str) -> ApiToken | None:
    """The live token (not revoked, not expired, of an active user) for a raw bearer value."""
    if not raw or len(raw) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    # Touch last_used_at at most once a minute: a hot token must not write on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def user_for_token(raw: str, *, scope: str | None = None) -> User | None:
    """The active user a bearer token belongs to, or None for an unknown, revoked or expired one
    (or one without `scope`). The agent socket asks for `write`."""
    token = token_for(raw)
    if token is None or (scope is not None and scope not in (token.scopes or [])):
        return None
    from accounts.scopes import cap_role

    return cap_role(token.user, token)


def visible_tokens(viewer: User, *, owner: User | None = None) -> list[ApiToken]:
    """Tokens `viewer` may see: their own; an admin sees everyone's (or `owner`'s)."""
    tokens = ApiToken.objects.select_related("user", "created_by")
    if viewer.has_role(Role.ADMIN):
        if owner is not None:
            tokens = tokens.filter(user=owner)
    else:
        tokens = tokens.filter(user=viewer)
    return list(tokens)


def revoke_api_token(token_id: int, *, by: User, ip: str = "", user_agent: str = "") -> ApiToken:
    """The owner or an admin revokes a token; it answers 401 from now on. Repeating is harmless."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=token_id)
        if token.user_id != by.pk and not by.has_role(Role.ADMIN):
            raise ApiToken.DoesNotExist
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            from accounts.cutoff import token_revoked

            token_revoked(token)  # its open sockets close
            auditing.record(
                action="token.revoked",
                actor=by,
                object_type="apitoken",
                object_id=token.pk,
                ip=ip,
                user_agent=user_agent,
                detail={"owner": token.user.email, "name": token.name, "prefix": token.prefix},
            )
    return token


def update_profile(user: User, *, language: str, timezone_name: str) -> User:
    """The agent's own language for the agent app ("" = the browser's) and the timezone its times
    are shown in ("" = the site's, settings.TIME_ZONE). Unknown values are refused."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(f"Unknown language: {language}")
    if timezone_name and timezone_name not in timezone_choices():
        raise ValidationError(f"Unknown timezone: {timezone_name}")
    changes = {
        field: (getattr(user, field), value)
        for field, value in (("language", language), ("timezone", timezone_name))
        if getattr(user, field) != value
    }
    if not changes:
        return user
    with transaction.atomic():
        for field, (_, value) in changes.items():
            setattr(user, field, value)
        user.save(update_fields=list(changes))
        record("agent.profile_changed", obj=user, changes=changes)
    return user


def timezone_choices() -> list[str]:
    """IANA timezone names, sorted (zoneinfo's, read once)."""
    return _timezones()


@functools.cache
def _timezones() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
