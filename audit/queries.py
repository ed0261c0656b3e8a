"""Reading the audit log: filters and keyset paging shared by the API, the page and the CSV."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet

from audit.models import AuditEntry

FILTERS = ("actor", "action", "object_type", "object_id")
CSV_COLUMNS = [
    "id",
    "at",
    "actor",
    "actor_id",
    "token",
    "via",
    "action",
    "object_type",
    "object_id",
    "ip",
    "user_agent",
    "detail",
]


class BadCursor(ValueError):
    pass


def filtered(params: Mapping[str, Any]) -> QuerySet[AuditEntry]:
    """Entries matching `actor` (email or id), `action` (exact, or a prefix ending in "."),
    `object_type` and `object_id`, newest first."""
    qs = AuditEntry.objects.order_by("-id")
    actor = str(params.get("actor") or "").strip()
    if actor:
        qs = qs.filter(actor_id=int(actor)) if actor.isdigit() else qs.filter(actor=actor.lower())
    action = str(params.get("action") or "").strip()
    if action:
        qs = (
            qs.filter(action__startswith=action)
            if action.endswith(".")
            else qs.filter(action=action)
        )
    for name in ("object_type", "object_id"):
        value = str(params.get(name) or "").strip()
        if value:
            qs = qs.filter(**{name: value})
    return qs


def page(
    params: Mapping[str, Any], *, cursor: str | None, limit: int
) -> tuple[list[AuditEntry], str | None]:
    """One page (newest first) after `cursor` (the last id seen) and the next cursor, or None."""
    qs = filtered(params)
    if cursor:
        if not cursor.isdigit() or len(cursor) > 19:
            raise BadCursor("Bad cursor")
        qs = qs.filter(id__lt=int(cursor))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].pk) if more and rows else None)


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at,
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "token": entry.token_prefix,
        "via": entry.via,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "detail": entry.detail,
    }


def csv_rows(params: Mapping[str, Any], *, batch: int = 2000) -> Iterator[list[Any]]:
    """Every matching entry as a CSV row, read in keyset batches (constant memory)."""
    import json

    yield CSV_COLUMNS
    last: int | None = None
    while True:
        qs = filtered(params)
        if last is not None:
            qs = qs.filter(id__lt=last)
        rows = list(qs[:batch])
        if not rows:
            return
        for e in rows:
            yield [
                e.pk,
                e.at.isoformat(),
                e.actor,
                e.actor_id or "",
                e.token_prefix,
                e.via,
                e.action,
                e.object_type,
                e.object_id,
                e.ip or "",
                e.user_agent,
                json.dumps(e.detail, sort_keys=True),
            ]
        last = rows[-1].pk
