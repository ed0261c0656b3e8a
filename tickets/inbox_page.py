"""What the `/inbox/` page shows around its rows, read in ONE query: the active agents (the
assignee `<select>`s), the shop mailboxes, the agent's saved views, which rows are unread and
the rows' tags.

These were five ORM queries a page (~1.5 ms of CPU at 100k tickets, mostly building querysets,
plus five round trips) for lists that are a few rows each; as one statement of five scalar
subqueries (`json_agg` lists, an array of unread ids) they cost one round trip and ~0.3 ms. The
answer is read fresh on every page, so nothing is cached and nothing can be stale. Each part is
the query it replaced: the same rows in the same order (`tests/tickets/test_inbox_page.py`
compares them). On SQLite (the embedded profile) the same lists come from those ORM queries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from accounts.models import User
from core import db
from tickets import saved_views, selectors, services
from tickets.models import SavedView, Ticket
from tickets.selectors import TicketRow


@dataclass
class PageLists:
    agents: list[tuple[str, str]] = field(default_factory=list)  # (id, name or email)
    mailboxes: list[tuple[str, str]] = field(default_factory=list)  # (id, "Name <address>")
    saved: list[SavedView] = field(default_factory=list)
    unread: set[int] = field(default_factory=set)
    tags: dict[int, list[str]] = field(default_factory=dict)  # the rows' tag names, by name


def _mailbox_model() -> Any:
    """The shop mailboxes (mailboxes/ sits above tickets: read through the ticket's FK)."""
    return Ticket._meta.get_field("mailbox").related_model


def _mailbox_label(name: str, address: str) -> str:
    return f"{name} <{address}>" if name else address


# The rows unread by the agent (`services.unread_ids`): a customer message after their read
# marker, or no marker at all. Parameters: the page's ticket ids, their last customer message
# times, the agent's id.
_UNREAD = (
    "SELECT COALESCE(array_agg(t.id), '{}') FROM unnest(%s::bigint[], %s::timestamptz[])"
    " AS t(id, at) WHERE t.at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tickets_ticketread r"
    " WHERE r.user_id = %s AND r.ticket_id = t.id AND r.read_at >= t.at)"
)
# The queries they replace, as lists: `User.objects.filter(is_active=True)` (ordered by name,
# email), the mailboxes by address, `saved_views.views_for` (own or shared, by name and id,
# the first 100). Parameter: the agent's id, then _UNREAD's.
_LISTS = (
    "SELECT (SELECT COALESCE(json_agg(json_build_array(u.id, u.name, u.email)"
    " ORDER BY u.name, u.email), '[]') FROM accounts_user u WHERE u.is_active),"
    " (SELECT COALESCE(json_agg(json_build_array(m.id, m.name, m.address) ORDER BY m.address),"
    " '[]') FROM mailboxes_mailbox m),"
    " (SELECT COALESCE(json_agg(json_build_array(v.id, v.name, v.owner_id, v.filters, v.shared)"
    " ORDER BY v.name, v.id), '[]') FROM (SELECT id, name, owner_id, filters, shared"
    " FROM tickets_savedview WHERE owner_id = %s OR shared ORDER BY name, id LIMIT 100) v),"
)
# The rows' tags (`selectors.tags_of`), as (ticket id, name) pairs by name. Parameter: the ids.
_TAGS = (
    "SELECT COALESCE(json_agg(json_build_array(tt.ticket_id, tg.name) ORDER BY tg.name), '[]')"
    " FROM tickets_ticket_tags tt JOIN tickets_tag tg ON tg.id = tt.tag_id"
    " WHERE tt.ticket_id = ANY(%s::bigint[])"
)
LISTS_SQL = "".join((_LISTS, " (", _UNREAD, "), (", _TAGS, ")"))
UNREAD_SQL = "".join(("SELECT NULL, NULL, NULL, (", _UNREAD, "), (", _TAGS, ")"))


def _loaded(value: Any) -> Any:
    """psycopg hands `json` back parsed; a driver that does not hands back text."""
    return json.loads(value) if isinstance(value, str) else value


def page_lists(*, user: User, rows: Sequence[TicketRow], lists: bool = True) -> PageLists:
    """The page's lists (`lists=False`: only the unread rows and the tags, for the table alone)
    in one query.

    A row is unread when its customer wrote after the agent last opened it (or never did):
    `services.unread_ids`, here `NOT EXISTS` a read marker at or after the last message."""
    if connection.vendor != "postgresql":
        return _page_lists_orm(user=user, rows=rows, lists=lists)
    ids = [row.id for row in rows]
    # The arrays as literals (`selectors.array_text`: psycopg dumped lists element by element).
    id_array = selectors.array_text(ids)
    latest = selectors.array_text([row.last_customer_message_at for row in rows])
    params: list[Any] = [user.pk] if lists else []
    params += [id_array, latest, user.pk, id_array]
    row = db.fetch_one(LISTS_SQL if lists else UNREAD_SQL, params)
    assert row is not None  # scalar subqueries: always one row
    agents, mailboxes, saved, unread, tagged = row
    out = PageLists(unread=set(unread), tags={pk: [] for pk in ids})
    for ticket_id, name in _loaded(tagged):
        out.tags[ticket_id].append(name)
    if lists:
        out.agents = [(str(pk), name or email) for pk, name, email in _loaded(agents)]
        out.mailboxes = [
            (str(pk), _mailbox_label(name, address)) for pk, name, address in _loaded(mailboxes)
        ]
        out.saved = [
            SavedView(pk=pk, name=name, owner_id=owner_id, filters=filters, shared=shared)
            for pk, name, owner_id, filters, shared in _loaded(saved)
        ]
    return out


def _page_lists_orm(*, user: User, rows: Sequence[TicketRow], lists: bool) -> PageLists:
    out = PageLists(
        unread=services.unread_ids(
            [row.id for row in rows],
            user=user,
            rows={row.id: row.last_customer_message_at for row in rows},
        ),
        tags=selectors.tags_of([row.id for row in rows]),
    )
    if lists:
        out.agents = [
            (str(pk), name or email)
            for pk, name, email in User.objects.filter(is_active=True).values_list(
                "id", "name", "email"
            )
        ]
        out.mailboxes = [
            (str(pk), _mailbox_label(name, address))
            for pk, name, address in _mailbox_model()
            ._default_manager.order_by("address")
            .values_list("id", "name", "address")
        ]
        out.saved = saved_views.views_for(user)
    return out
