"""The rules of merging one row into another of its kind (tickets, contacts), in one place.

Both models point from a merged row to its survivor with `merged_into`. A merge locks both rows,
lower id first (two merges never deadlock), and refuses, with a code the API answers as 422:
into itself (`merge_into_self`), a row already merged (`already_merged`), into a merged row
(`target_merged`), or into a row whose pointers lead back to the source (`merge_cycle`).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from django.db import models

# Pointer chains are short (each merge points at a survivor); this bounds a corrupted one.
MAX_CHAIN = 20


class Mergeable(Protocol):
    pk: Any
    merged_into_id: Any


M = TypeVar("M", bound=models.Model)


class MergeRefused(ValueError):
    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail)
        self.code = code


def survivor(row: M) -> M:
    """The row that `row` was merged into, following pointers (itself if not merged)."""
    manager = type(row)._default_manager
    seen = {row.pk}
    while getattr(row, "merged_into_id", None) is not None and len(seen) < MAX_CHAIN:
        target = row.merged_into_id  # type: ignore[attr-defined]  # checked just above
        if target in seen:
            break
        seen.add(target)
        row = manager.get(pk=target)
    return row


def lock_pair(source: M, into: M, *, noun: str, ref: str = "") -> tuple[M, M]:
    """Both rows locked (lower id first) and read fresh, or MergeRefused. `noun` and `ref` name
    them in the refusal ("Ticket" and "#": "Ticket #5 was already merged into #3")."""
    if source.pk == into.pk:
        raise MergeRefused(f"A {noun.lower()} cannot be merged into itself", "merge_into_self")
    manager = type(source)._default_manager
    locked = {
        row.pk: row
        for row in manager.select_for_update().filter(pk__in=[source.pk, into.pk]).order_by("pk")
    }
    source, into = locked[source.pk], locked[into.pk]
    source_target = getattr(source, "merged_into_id", None)
    if source_target is not None:
        raise MergeRefused(
            f"{noun} {ref}{source.pk} was already merged into {ref}{source_target}",
            "already_merged",
        )
    into_target = getattr(into, "merged_into_id", None)
    if into_target is not None:
        if survivor(into).pk == source.pk or into_target == source.pk:
            raise MergeRefused("That merge would make a cycle", "merge_cycle")
        raise MergeRefused(
            f"{noun} {ref}{into.pk} was merged into {ref}{into_target}; merge into that one",
            "target_merged",
        )
    return source, into
