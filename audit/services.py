"""`record(...)`: the one way to write the audit log. Every app's services.py calls it inside the
transaction of the change it describes, so the entry commits or rolls back with the change.

    from audit.services import record
    record("ticket.updated", obj=ticket, changes={"status": ("open", "solved")})

The actor, IP and user agent come from the audit context (set by the HTTP middleware, the API's
bearer auth and the socket consumers); pass `actor=` where a service knows better (a command, a
sweep acting for a person). Never put secrets or message bodies in `changes` or `detail`.
"""

from __future__ import annotations

import datetime
import decimal
import enum
from collections.abc import Mapping
from typing import Any

from audit.context import current
from audit.models import AuditEntry

SECRET_WORDS = ("password", "secret", "token", "digest", "code_hash", "key")
MAX_VALUE = 500


def _plain(value: Any) -> Any:
    """A JSON-safe, bounded copy of a field value."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in list(value)[:50]]
    if hasattr(value, "pk"):
        return value.pk
    return str(value)[:MAX_VALUE]


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ between two snapshots, as {field: (before, after)}."""
    return {
        name: (before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def record(
    action: str,
    *,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    actor: Any = None,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    detail: Mapping[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> AuditEntry:
    """Append one audit entry in the caller's transaction and return it.

    `action` is "<object>.<verb>" (ticket.updated, grant.undone, auth.login_failed). `obj` is a model
    instance (its type and pk are taken); or give `object_type`/`object_id`. `changes` maps a field
    to (before, after): a field whose name looks secret is stored as "[redacted]". `actor` is a User
    or None for whoever the audit context names ("system" when nobody). `ip` and `user_agent`
    override the context's (empty values are ignored).
    """
    context = current()
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk if object_id in ("", None) else object_id
    user = actor
    token_prefix = ""
    if context is not None:
        if user is None:
            user = context.user
            if user is None and context.request is not None:
                candidate = getattr(context.request, "user", None)
                if candidate is not None and getattr(candidate, "is_authenticated", False):
                    user = candidate
        if (
            user is not None and context.user is not None and user.pk == context.user.pk
        ) or user is None:
            token_prefix = context.token_prefix
    body: dict[str, Any] = {}
    if changes:
        body["changes"] = {
            name: ["[redacted]", "[redacted]"] if _is_secret(name) else [_plain(b), _plain(a)]
            for name, (b, a) in changes.items()
        }
    if detail:
        body.update(
            {
                str(k): "[redacted]" if _is_secret(str(k)) else _plain(v)
                for k, v in detail.items()
                if k != "changes"
            }
        )
    label = ""
    if user is not None:
        label = getattr(user, "email", "") or str(user)
    elif token_prefix:
        label = f"token {token_prefix}"
    elif context is not None and context.via in ("web", "api", "socket"):
        label = "anonymous"
    else:
        label = "system"
    return AuditEntry.objects.create(
        actor_id=getattr(user, "pk", None),
        actor=label[:254],
        token_prefix=token_prefix[:16],
        via=(context.via if context is not None else "system")[:16],
        action=action[:64],
        object_type=str(object_type or "")[:64],
        object_id=str(object_id if object_id is not None else "")[:64],
        ip=(ip or None) or (context.ip if context is not None else None),
        user_agent=(user_agent or (context.user_agent if context is not None else ""))[:300],
        detail=body,
    )
