"""Logins, logouts and failed logins are audited from Django's auth signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.services import record


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("auth.login", obj=user, object_type="user", actor=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("auth.logout", obj=user, object_type="user", actor=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # Django already masks the password in `credentials`; keep only who was tried.
    tried = str(credentials.get("username") or credentials.get("email") or "")[:254]
    record("auth.login_failed", object_type="user", detail={"tried": tried})


def _admin_action(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """Every change made through the Django admin (its LogEntry) is an admin power used."""
    if not created:
        return
    verbs = {1: "added", 2: "changed", 3: "deleted"}
    record(
        f"admin.{verbs.get(instance.action_flag, 'action')}",
        object_type=instance.content_type.model if instance.content_type_id else "",
        object_id=instance.object_id or "",
        actor=instance.user,
        detail={"message": instance.get_change_message()[:500]},
    )


def connect_admin_log() -> None:
    from django.contrib.admin.models import LogEntry
    from django.db.models.signals import post_save

    post_save.connect(_admin_action, sender=LogEntry, dispatch_uid="audit_admin_log")


connect_admin_log()
