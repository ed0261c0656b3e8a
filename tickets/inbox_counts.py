"""The inbox sidebar's counts (built-in views and saved views), cheap enough for every page view.

Each view's count is a capped count (at most COUNT_CAP rows of the view's indexed range, shown
"999+"), so one count costs a bounded index walk whatever the number of tickets. Counts are then
cached per view (the same for every agent, except views that depend on who looks, like "Mine"):

- Every change the inbox hears about (tickets.events.inbox_changed_on_commit: created, messages, replies,
  status/assignee/tag changes, spam, merges, follow-ups) bumps a generation number in the cache
  after its commit. A count computed at an older generation is recomputed, at most once per
  MIN_AGE (one second) per view: a burst of arrivals costs one count per view per second across
  all agents, not one per page view.
- Without changes a count is kept SUPPORTDESK_INBOX_COUNT_SECONDS (60) at most, a safety net for
  writes that bypass the services.
- The page reads every count of its sidebar in ONE cache round trip (get_many with the
  generation); missing built-in counts are computed in ONE SQL statement, saved views one capped
  count each.

Why not counters kept incrementally (a row per view, +1/-1 in each change's transaction): saved
views are any combination of filters (tags, full text, customer kind), so a change would have to
evaluate every saved view's filters against the ticket before and after, inside the hot
transaction, and one missed path makes a counter wrong forever. A capped count recomputed on
change is always right within a second; at a million tickets a view's costs ~0.1-0.4 ms, and a
view of one tag in some statuses counts one range of the tag links' index (`tickets.tag_activity`:
~1 ms, where intersecting the tag's and the status's bitmaps took ~12-20 ms; bench/README.md).

The live sidebar: static/js/inbox.js re-reads `/inbox/counts` after each `ticket.changed` event;
the answer says `stale: true` when it served a count throttled by MIN_AGE, and the page asks
again a second later.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from accounts.models import User
from tickets import saved_views, selectors, tag_activity
from tickets.events import COUNTS_GENERATION_KEY as GENERATION_KEY
from tickets.models import SavedView, Ticket

COUNT_CAP = 1000
MIN_AGE = 1.0
# The sidebar's built-in views, in order.
VIEW_LABELS = [
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("waiting", "Waiting longest"),
    ("open", "Open"),
    ("pending", "Pending"),
    ("solved", "Solved"),
    ("all", "All"),
    ("care", "Care tasks"),
    ("my_care", "My care tasks"),
    ("spam", "Spam"),
]
# Views whose tickets depend on who looks.
PERSONAL = frozenset({"mine", "my_care"})


def shown(count: int) -> str:
    """As the sidebar prints a capped count: "999+" from the cap on."""
    return f"{COUNT_CAP - 1}+" if count >= COUNT_CAP else str(count)


@dataclass
class Counts:
    views: dict[str, int]
    saved: dict[int, int]
    stale: bool  # some count is from before the last change (recomputed within MIN_AGE)

    def as_json(self) -> dict[str, Any]:
        return {
            "views": {name: shown(n) for name, n in self.views.items()},
            "saved": {str(pk): shown(n) for pk, n in self.saved.items()},
            "stale": self.stale,
        }


def _view_key(name: str, user: User) -> str:
    return f"inbox-count:{name}:{user.pk if name in PERSONAL else 0}"


def _saved_key(view: SavedView, user: User) -> str:
    who = user.pk if view.filters.get("view") in PERSONAL else 0
    return f"inbox-count:saved:{view.pk}:{who}"


def sidebar_counts(user: User, saved: list[SavedView]) -> Counts:
    """Every count of the agent's sidebar: one cache round trip, and only stale ones counted."""
    view_keys = {name: _view_key(name, user) for name, _ in VIEW_LABELS}
    saved_keys = {view.pk: _saved_key(view, user) for view in saved}
    try:
        cached = cache.get_many([GENERATION_KEY, *view_keys.values(), *saved_keys.values()])
    except Exception:  # the cache is a hint
        cached = {}
    generation = cached.get(GENERATION_KEY, 0)
    now = time.time()
    stale = False

    def usable(key: str) -> int | None:
        nonlocal stale
        value = cached.get(key)
        if not value:
            return None
        at_generation, computed_at, count = value
        if at_generation == generation:
            return count
        if now - computed_at < MIN_AGE:
            stale = True
            return count
        return None

    views: dict[str, int] = {}
    missing_views = []
    for name, key in view_keys.items():
        count = usable(key)
        if count is None:
            missing_views.append(name)
        else:
            views[name] = count
    fresh: dict[str, tuple[int, float, int]] = {}
    if missing_views:
        for name, count in _count_views(user.pk, tuple(missing_views)).items():
            views[name] = count
            fresh[view_keys[name]] = (generation, now, count)
    saved_counts: dict[int, int] = {}
    for view in saved:
        count = usable(saved_keys[view.pk])
        if count is None:
            count = _count_saved(view, user)
            fresh[saved_keys[view.pk]] = (generation, now, count)
        saved_counts[view.pk] = count
    if fresh:
        with contextlib.suppress(Exception):  # the cache is a hint: next time counts again
            cache.set_many(fresh, timeout=settings.SUPPORTDESK_INBOX_COUNT_SECONDS)
    return Counts(
        views={name: views[name] for name, _ in VIEW_LABELS}, saved=saved_counts, stale=stale
    )


def saved_counts(views: list[SavedView], *, user: User) -> dict[int, int]:
    """Capped counts of saved views (the API's `GET /views`), through the same cache."""
    return sidebar_counts(user, views).saved


def _count_saved(view: SavedView, user: User) -> int:
    filters = saved_views.filters_of(view)
    statuses = selectors.tag_statuses(filters)
    if statuses is not None and filters.tag:
        # One tag in some statuses: a range of the tag links' index (`tickets.tag_activity`).
        tag_id = selectors.tag_id_of(filters.tag)
        if tag_id is None:
            return 0
        return tag_activity.capped_count(tag_id=tag_id, statuses=statuses, cap=COUNT_CAP)
    qs = selectors.filtered(user=user, filters=filters)
    return qs.values("id")[:COUNT_CAP].count()


def _count_views(user_id: int, names: tuple[str, ...]) -> dict[str, int]:
    """Capped counts of built-in views in ONE query: each view's indexed range, limited."""
    sql, params = _count_views_sql(user_id, names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {name: int(count) for name, count in zip(names, row, strict=True)}


@functools.lru_cache(maxsize=1024)
def _count_views_sql(user_id: int, names: tuple[str, ...]) -> tuple[str, tuple[Any, ...]]:
    """The counts query, compiled once per agent and set of views (querysets take ~0.1 ms each to
    build); the views depend on nothing but constants and the agent's id."""
    user = User(pk=user_id)
    parts: list[str] = []
    params: list[Any] = []
    for name in names:
        qs = selectors.apply_view(Ticket.objects.all(), name, user).values("id")[:COUNT_CAP]
        sql, sql_params = qs.query.sql_with_params()
        # The ORM compiled `sql` with placeholders (params stay separate); `name` is a constant.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS v_{name})")  # noqa: S608
        params.extend(sql_params)
    return "SELECT " + ", ".join(parts), tuple(params)


def forget_shared_counts() -> None:
    """Drop the cached counts every agent shares (tests start from a clean sidebar with it)."""
    with contextlib.suppress(Exception):
        cache.delete_many([f"inbox-count:{name}:0" for name, _ in VIEW_LABELS])
