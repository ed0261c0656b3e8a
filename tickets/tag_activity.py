"""A tag's tickets in some statuses, newest activity first, read from the tag links (Postgres).

Each link row of `tickets_ticket_tags` carries its ticket's status and `updated_at`, kept by
triggers (tickets/migrations/0011_ticket_tag_activity.py) and indexed as (tag, status,
activity, ticket). A view that is one tag in some statuses (the filter bar's status and tag, a
view like Open or All, a saved view of them) reads its page as one range of that index per
status, merged in order, and its capped count as one range: ~51 and ~1,000 index entries
whatever the number of tickets. Any other filter (assignee, type, channel, customer kind,
mailbox, search, a personal view) goes the general way (`selectors.filtered`, the ticket row's
tag array).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from core import db
from tickets.models import Status

# The statuses each view shows (`selectors.apply_view`), for the views that are statuses only;
# no view, like All, leaves spam out (it shows only when asked for).
_ALL_BUT_SPAM = tuple(s.value for s in Status if s != Status.SPAM)
VIEW_STATUSES: dict[str, tuple[str, ...]] = {
    "": _ALL_BUT_SPAM,
    "all": _ALL_BUT_SPAM,
    "open": (Status.NEW.value, Status.OPEN.value),
    "pending": (Status.PENDING.value,),
    "solved": (Status.SOLVED.value, Status.CLOSED.value),
    "spam": (Status.SPAM.value,),
}


def statuses_of(
    *,
    view: str | None,
    status: str | None,
    tag: str | None,
    others: tuple[object, ...],
    q: str | None,
) -> tuple[str, ...] | None:
    """The statuses a tag's view shows, in the order pages merge them, when the view is one tag
    in some statuses (else None: read it the general way). `others`: the view's other filters,
    all empty for this path."""
    if connection.vendor != "postgresql" or not tag or (q and q.strip()) or any(others):
        return None
    shown = VIEW_STATUSES.get(view or "")
    if shown is None:
        return None
    if status and not view and status == Status.SPAM:
        return (Status.SPAM.value,)  # asked for: spam shows (`selectors.filtered`)
    return tuple(s for s in shown if s == status) if status else shown


def page_ids_sql(
    *, tag_id: int, statuses: tuple[str, ...], keyset: tuple[datetime, int] | None, limit: int
) -> tuple[str, list[Any]]:
    """The SQL of the page's ticket ids (newest activity first, after `keyset`, `limit` rows)
    and its parameters: one ordered range of the index per status, merged."""
    if not statuses:
        return "SELECT NULL::bigint WHERE false", []
    branches, params = [], []
    for status in statuses:
        after = ""
        branch_params: list[Any] = [tag_id, status]
        if keyset is not None:
            # The redundant `<=` is where the range starts (as `selectors._page_query`).
            after = (
                " AND l.updated_at <= %s AND (l.updated_at < %s"
                " OR (l.updated_at = %s AND l.ticket_id < %s))"
            )
            at, pk = keyset
            branch_params += [at, at, at, pk]
        branches.append(
            "(SELECT l.ticket_id, l.updated_at FROM tickets_ticket_tags l"  # noqa: S608  (our SQL)
            f" WHERE l.tag_id = %s AND l.status = %s{after}"
            f" ORDER BY l.updated_at DESC, l.ticket_id DESC LIMIT {int(limit)})"
        )
        params += branch_params
    if len(branches) == 1:
        return f"SELECT ticket_id FROM {branches[0]} AS b", params  # noqa: S608  (our SQL)
    merged = " UNION ALL ".join(branches)
    sql = (
        f"SELECT b.ticket_id FROM ({merged}) AS b"  # noqa: S608  (our SQL; values are params)
        f" ORDER BY b.updated_at DESC, b.ticket_id DESC LIMIT {int(limit)}"
    )
    return sql, params


def capped_count(*, tag_id: int, statuses: tuple[str, ...], cap: int) -> int:
    """How many tickets with the tag are in the statuses, counted up to `cap`."""
    if not statuses:
        return 0
    marks = ", ".join(["%s"] * len(statuses))
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM tickets_ticket_tags"  # noqa: S608  (placeholders)
        f" WHERE tag_id = %s AND status IN ({marks}) LIMIT {int(cap)}) AS c"
    )
    row = db.fetch_one(sql, [tag_id, *statuses])
    return int(row[0]) if row is not None else 0
