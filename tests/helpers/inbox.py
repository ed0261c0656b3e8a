"""Walking an inbox view page by page, as an agent following "Next" does."""

from __future__ import annotations

from accounts.models import User
from tickets import selectors


def walk_pages(user: User, filters: selectors.InboxFilters, *, limit: int = 2) -> list[int]:
    """Every ticket id of the view, page after page of `limit` through the keyset cursor."""
    ids: list[int] = []
    cursor = None
    while True:
        page = selectors.ticket_page(user=user, filters=filters, cursor=cursor, limit=limit)
        ids += [row.id for row in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
