"""CSV exports streamed in constant memory: rows read through a server-side cursor (Django's
`.iterator()` on Postgres), written one chunk at a time, never held as a whole.

Two things keep it constant under daphne (measured by bench/exports.py at 1,000,000 rows):
- Under ASGI the response's lines are pulled one chunk at a time on the request's thread, as for
  every large streaming response (`core.streaming.StreamUnderAsgiMiddleware`). Given a sync
  iterator, Django's ASGI handler would first read the whole of it into a list: the entire CSV in
  memory before the first byte is sent.
- The rows are read in one transaction (`in_one_transaction`): outside one, Django declares the
  server-side cursor WITH HOLD, and Postgres computes and stores the whole result at the
  cursor's first commit before the first row comes back. In a transaction rows flow as they are
  fetched, and the tags of each chunk are read from the same snapshot.

Every cell a spreadsheet could read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) is prefixed with `'`, so an exported customer's "=HYPERLINK(...)" stays text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write() returns what was written (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def _safe_row(row: Sequence[Any]) -> list[Any]:
    """safe_cell over a row, inlined (this runs for every cell of a million-row export)."""
    return [
        ("'" + v if v[:1] in _FORMULA_FIRST else v)
        if type(v) is str
        else ("" if v is None else (v.isoformat() if type(v) is datetime else v))
        for v in row
    ]


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header then each row as CSV text, joined into chunks of about CHUNK rows."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    buffer: list[str] = []
    writerow = writer.writerow
    for row in rows:
        buffer.append(writerow(_safe_row(row)))
        if len(buffer) >= CHUNK:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def stream(qs: QuerySet[Any], fields: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Rows of `fields`, read CHUNK at a time through a server-side cursor."""
    return qs.values_list(*fields).iterator(chunk_size=CHUNK)


TICKET_HEADER = (
    "id", "subject", "status", "priority", "type", "channel", "customer_id", "customer_name",
    "assignee_email", "tags", "created_at", "updated_at", "solved_at", "merged_into_id",
)  # fmt: skip
TICKET_FIELDS = (
    "id", "subject", "status", "priority", "type", "channel", "customer_id", "customer__name",
    "assignee__email", "created_at", "updated_at", "solved_at", "merged_into_id",
)  # fmt: skip


def ticket_rows(qs: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """Tickets with their tag names, tags read per chunk of rows (one query per chunk)."""
    from tickets.models import Ticket

    through = Ticket.tags.through
    chunk: list[tuple[Any, ...]] = []

    def flush() -> Iterator[tuple[Any, ...]]:
        tags: dict[int, list[str]] = {}
        for ticket_id, name in through.objects.filter(
            ticket_id__in=[r[0] for r in chunk]
        ).values_list("ticket_id", "tag__name"):
            tags.setdefault(ticket_id, []).append(name)
        for r in chunk:
            yield (*r[:9], " ".join(sorted(tags.get(r[0], []))), *r[9:])
        chunk.clear()

    # The server-side cursor stays open between fetches; the tag queries run on the same
    # connection in between (in one transaction: see in_one_transaction).
    for row in stream(qs.order_by("id"), TICKET_FIELDS):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield from flush()
    if chunk:
        yield from flush()


def in_one_transaction(lines: Iterator[str]) -> Iterator[str]:
    """`lines` read inside one transaction, rolled back (read-only work) if the download stops
    early: closing the response closes this generator where it waits."""
    with transaction.atomic():
        yield from lines
