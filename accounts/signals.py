"""Second factors added, removed or regenerated, and failed second-factor codes, into the audit
log (logins and failed logins are recorded by audit/signals.py). Never a code or secret."""

from __future__ import annotations

from typing import Any

from allauth.mfa import signals as mfa_signals
from django.dispatch import receiver

from accounts import auditing


def _factor(action: str, request: Any, user: Any, authenticator: Any) -> None:
    auditing.record(
        action=action,
        actor=user,
        object_type="user",
        object_id=getattr(user, "pk", None),
        detail={"type": getattr(authenticator, "type", "")},
        **auditing.request_origin(request),
    )


@receiver(mfa_signals.authenticator_added)
def on_factor_added(sender: Any, request: Any, user: Any, authenticator: Any, **kw: Any) -> None:
    _factor("mfa.added", request, user, authenticator)


@receiver(mfa_signals.authenticator_removed)
def on_factor_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kw: Any) -> None:
    _factor("mfa.removed", request, user, authenticator)


@receiver(mfa_signals.authenticator_reset)
def on_codes_regenerated(
    sender: Any, request: Any, user: Any, authenticator: Any, **kw: Any
) -> None:
    _factor("mfa.recovery_codes_regenerated", request, user, authenticator)


@receiver(mfa_signals.authentication_failed)
def on_code_failed(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    auditing.record(
        action="mfa.failed",
        actor=user,
        object_type="user",
        object_id=getattr(user, "pk", None),
        **auditing.request_origin(request),
    )
