"""Agent accounts and API tokens: the one way to create them and to resolve a bearer token."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Role, User, hash_token
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


def issue_api_token(user: User) -> str:
    """Store a new token's hash and return the raw token; it cannot be recovered later."""
    raw = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, digest=hash_token(raw), prefix=raw[:10])
        record("token.created", obj=token, detail={"owner": user.pk, "prefix": token.prefix})
    return raw


def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None for an unknown or revoked token."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch last_used_at at most once a minute: a hot token must not write on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
