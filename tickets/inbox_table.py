"""The rows of the inbox table (templates/tickets/partials/ticket_table.html), built in Python.

The inbox is the page agents keep open and refresh all day, and its 50 rows were most of its
server time: as a Django template loop each row cost ~17 variable lookups, five `{% if %}`, two
`{% url %}`, `get_*_display`, `timesince` and two date formats (~0.3 ms a row, 15 ms a page,
against ~1 ms of SQL). Here a row is one format string over escaped values: the same markup,
byte for byte (tests/tickets/test_inbox_table.py compares it with the template loop it replaced),
the same values (choice labels, Django's `timesince` and `localize` in the current time zone) and
the same escaping (`html.escape`, as Django's `escape`), in ~30 us a row, most of it `timesince`
and the date format.

The row markup lives here, not in the partial: the row shape is shared with static/js/inbox.js
(`data-href`, `data-ticket-id`, `status-*`) and the browser tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any

from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import TIME_STRINGS, timesince

from customers.models import CustomerKind
from tickets.models import Priority, Status, TicketType
from tickets.selectors import TicketRow

# Exactly what the template loop printed for one row, whitespace included.
ROW = (
    '\n      <tr data-href="{url}" data-ticket-id="{id}" class="status-{status}">'
    '\n        <td class="pick"><input type="checkbox" name="ids" value="{id}" form="bulk-form"'
    ' aria-label="Select #{id}"></td>'
    '\n        <td>{care}<a href="{url}">{subject}</a> <span class="muted">#{id}</span></td>'
    "\n        <td>{customer}{kind}{vip}</td>"
    '\n        <td><span class="status {status}">{status_label}</span></td>'
    '\n        <td class="prio {priority}">{priority_label}</td>'
    "\n        <td>{assignee}</td>"
    "\n        <td>{tags}</td>"
    '\n        <td><time datetime="{updated_iso}" title="{updated_title}">{updated_ago} ago</time>'
    "</td>\n      </tr>\n    "
)
CARE_BADGE = '<span class="badge care">Care</span> '
VIP_BADGE = ' <span class="badge vip">VIP</span>'
UNASSIGNED = '<span class="muted">—</span>'
# A pk no real URL contains, replaced by each row's id in the one reversed ticket URL.
_PK_MARK = 9_876_543_210


class _Plural:
    """One of `timesince`'s unit strings, translated once per number for one page.

    `timesince` formats `TIME_STRINGS[unit] % {"num": n}` (a lazy `ngettext`, a translation
    lookup each time) two or three times a row; a page needs a handful of distinct ones.
    """

    __slots__ = ("done", "lazy")

    def __init__(self, lazy: Any) -> None:
        self.lazy, self.done = lazy, {}

    def __mod__(self, args: dict[str, int]) -> str:
        num = args["num"]
        text = self.done.get(num)
        if text is None:
            text = self.done[num] = self.lazy % args
        return text


def render_rows(rows: Iterable[TicketRow], *, now: datetime | None = None) -> SafeString:
    """The `<tr>`s of one inbox page ("" for none: the template prints its empty row)."""
    # One reverse() a page; each row's pk is put into it (the pattern is `tickets/<int:pk>/`).
    url_head, url_tail = escape(reverse("tickets:ticket", args=[_PK_MARK])).split(str(_PK_MARK))
    # Labels and formats in the active language, looked up once a page.
    statuses = {value: escape(str(label)) for value, label in Status.choices}
    priorities = {value: escape(str(label)) for value, label in Priority.choices}
    kinds = {value: escape(str(label)) for value, label in CustomerKind.choices}
    time_strings = {unit: _Plural(text) for unit, text in TIME_STRINGS.items()}
    # `localize(datetime)` is `date_format(value, "DATETIME_FORMAT")`, i.e. this.
    datetime_format = formats.get_format("DATETIME_FORMAT")
    now = now or timezone.now()
    parts = []
    for row in rows:
        # As the template's `{{ t.updated_at }}` and `|date:'c'`: in the current time zone.
        updated = timezone.localtime(row.updated_at)
        kind = row.customer_kind
        parts.append(
            ROW.format(
                url=f"{url_head}{row.id}{url_tail}",
                id=row.id,
                status=escape(row.status),
                care=CARE_BADGE if row.type == TicketType.CARE else "",
                subject=escape(row.subject),
                customer=escape(row.customer_display_name),
                kind=""
                if kind == CustomerKind.CUSTOMER
                else f' <span class="badge">{kinds.get(kind) or escape(kind)}</span>',
                vip=VIP_BADGE if row.customer_tier == "vip" else "",
                status_label=statuses.get(row.status) or escape(row.status),
                priority=escape(row.priority),
                priority_label=priorities.get(row.priority) or escape(row.priority),
                assignee=UNASSIGNED
                if row.assignee_id is None
                else escape(row.assignee_display_name),
                tags="".join(f'<span class="badge">{escape(tag)}</span> ' for tag in row.tags),
                updated_iso=escape(updated.isoformat()),
                updated_title=escape(dateformat.format(updated, datetime_format)),
                updated_ago=escape(timesince(row.updated_at, now, time_strings=time_strings)),
            )
        )
    return mark_safe("".join(parts))  # noqa: S308  (every value above is escaped)
