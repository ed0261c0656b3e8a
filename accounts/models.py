"""Agents (employees who use the app), their roles, and hashed API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.AGENT: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class UserManager(DjangoUserManager["User"]):
    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:  # type: ignore[override]  # email, not Django's username
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:  # type: ignore[override]  # email, not Django's username
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An employee. Every employee can take support shifts; `role` widens what they may see."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    team = models.CharField(max_length=80, blank=True)
    is_trainee = models.BooleanField(default=False)
    # How many open chats automatic routing gives this person at once (livechat/routing.py);
    # managers change it on the teams page or PATCH /api/v1/teams/agents/{id}.
    max_chats = models.PositiveSmallIntegerField(default=3)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # The agent app's language and the timezone its times are shown in (profile page;
    # accounts.middleware.AgentLocaleMiddleware activates both). "" = the site's defaults.
    language = models.CharField(max_length=8, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    # Set in memory when a token's scopes lower the role (accounts/scopes.py); never saved.
    _role_capped_by_token = False

    class Meta:
        ordering = ["name", "email"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    def has_role(self, role: Role | str) -> bool:
        """True when this user's role is `role` or a wider one (admin > manager > agent)."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def is_manager(self) -> bool:
        return self.has_role(Role.MANAGER)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A token without the admin scope lowers the role in memory (accounts/scopes.py); that
        # lowered role must never be written back.
        fields = kwargs.get("update_fields")
        if getattr(self, "_role_capped_by_token", False) and (
            fields is None or {"role", "is_staff", "is_superuser"} & set(fields)
        ):
            raise RuntimeError("Refusing to save a user whose role a token's scopes lowered")
        super().save(*args, **kwargs)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Scope(models.TextChoices):
    """What a token may do. The person's role still bounds it: `admin` only counts for admins."""

    READ = "read", "Read (GET)"
    WRITE = "write", "Write (create and change, except grants)"
    GRANTS = "grants", "Grants (create and undo WOW grants)"
    ADMIN = "admin", "Admin (use the person's admin powers)"


ALL_SCOPES = [s.value for s in Scope]


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the raw value is shown once, at issue."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    scopes = models.JSONField(default=list, help_text="Subset of read, write, grants, admin.")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name or self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @staticmethod
    def generate() -> str:
        return "sd_" + secrets.token_urlsafe(32)
