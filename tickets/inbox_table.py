"""The rows of the inbox table (templates/tickets/partials/ticket_table.html), built in Python;
also the page's `<option>` lists, sidebar views and hidden filter inputs (same markup as the
template loops they replaced, at a fraction of their cost).

The inbox is the page agents keep open and refresh all day, and its 50 rows were most of its
server time: as a Django template loop each row cost ~17 variable lookups, five `{% if %}`, two
`{% url %}`, `get_*_display`, `timesince` and two date formats (~0.3 ms a row, 15 ms a page,
against ~1 ms of SQL). Here a row is one format string over escaped values: the same markup,
byte for byte (tests/tickets/test_inbox_table.py compares it with the template loop it replaced),
the same values (choice labels, `compact_age` and `localize` in the current time zone) and
the same escaping (`html.escape`, as Django's `escape`), in ~30 us a row, most of it the date
format. Ages are compact ("4m", "3h") so a row stays one line (the `compact_age` filter in
tickets/templatetags/inbox.py prints the same for templates).

The row markup lives here, not in the partial: the row shape is shared with static/js/inbox.js
(`data-href`, `data-ticket-id`, `status-*`) and the browser tests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from html import escape

from django.db.models import Choices
from django.urls import reverse
from django.utils import dateformat, formats, timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from customers.models import CustomerKind
from tickets.models import Priority, SavedView, Status, TicketType
from tickets.selectors import TicketRow

# Exactly what the template loop printed for one row, whitespace included.
ROW = (
    '\n      <tr data-href="{url}" data-ticket-id="{id}" class="status-{status}{unread_class}">'
    '\n        <td class="pick"><input type="checkbox" name="ids" value="{id}" form="bulk-form"'
    ' aria-label="Select #{id}"></td>'
    '\n        <td class="subject">{unread}{care}<a href="{url}">{subject}</a>'
    ' <span class="muted">#{id}</span>{preview}</td>'
    "\n        <td>{customer}{kind}{vip}</td>"
    '\n        <td><span class="status {status}">{status_label}</span></td>'
    '\n        <td class="prio {priority}">{priority_label}</td>'
    "\n        <td>{assignee}</td>"
    "\n        <td>{tags}</td>"
    '\n        <td class="wait">{waiting}</td>'
    '\n        <td class="age"><time datetime="{updated_iso}" title="{updated_title}">{updated_ago}</time>'
    "</td>\n      </tr>\n    "
)
CARE_BADGE = '<span class="badge care">Care</span> '
VIP_BADGE = ' <span class="badge vip">VIP</span>'
UNASSIGNED = '<span class="muted">—</span>'
UNREAD_DOT = '<span class="unread-dot" title="New customer message"><span class="sr-only">Unread: </span></span>'
PREVIEW = ' <span class="preview">{}</span>'
# The customer's wait; "late" once they have waited longer than the target allows.
WAITING = '<span class="waited{late}" title="{title}">{age}{late_text}</span>'
LATE_TEXT = '<span class="sr-only"> (waited too long)</span>'
# A pk no real URL contains, replaced by each row's id in the one reversed ticket URL.
_PK_MARK = 9_876_543_210


@functools.lru_cache(maxsize=16_384)
def _formatted(at: datetime, fmt: str, language: str | None, zone: tzinfo) -> str:
    """`dateformat.format(localtime(at), fmt)`, remembered: a page's dates were most of its CPU
    (~50 us each: the month and a.m./p.m. names are lazy translations looked up per call), and
    the same tickets' dates are printed on every refresh of the same pages. The result depends
    only on the instant, the format, the active language (names) and the time zone: the key."""
    return dateformat.format(timezone.localtime(at, zone), fmt)


@functools.lru_cache(maxsize=16_384)
def _formatted_html(at: datetime, fmt: str, language: str | None, zone: tzinfo) -> str:
    """`_formatted`, escaped for HTML (rows print each date escaped: remembered with it)."""
    return escape(_formatted(at, fmt, language, zone))


# The closed sets a row prints as they are (status and priority values), escaped once.
_STATUS_HTML = {value: escape(value) for value in Status.values}
_PRIORITY_HTML = {value: escape(value) for value in Priority.values}


def _memo_escape() -> Callable[[str], str]:
    """`escape`, remembered for one page: the names a page repeats (assignees, tags)."""
    seen: dict[str, str] = {}

    def escaped(text: str) -> str:
        out = seen.get(text)
        if out is None:
            out = seen[text] = escape(text)
        return out

    return escaped


def compact_age(
    then: datetime, now: datetime, *, local: Callable[[datetime, str], str] | None = None
) -> str:
    """How long ago, as a dense desk shows it on one line: "now", "4m", "3h", "2d", then "Mar 4"
    (`local`: the page's date formatter, in its language and time zone)."""
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h"
    if seconds < 30 * 86_400:
        return f"{seconds // 86_400}d"
    if local is not None:
        return local(then, "M j")
    return _formatted(then, "M j", translation.get_language(), timezone.get_current_timezone())


@functools.lru_cache(maxsize=16)
def _labels(language: str | None) -> tuple[dict[str, str], ...]:
    """The status, priority and customer kind labels, escaped, in `language` (the active one:
    the key). Code constants: the same for every page in that language."""
    return tuple(
        {value: escape(str(label)) for value, label in choices.choices}
        for choices in (Status, Priority, CustomerKind)
    )


def render_rows(rows: Iterable[TicketRow], *, now: datetime | None = None) -> SafeString:
    """The `<tr>`s of one inbox page ("" for none: the template prints its empty row)."""
    # One reverse() a page; each row's pk is put into it (the pattern is `tickets/<int:pk>/`).
    url_head, url_tail = escape(reverse("tickets:ticket", args=[_PK_MARK])).split(str(_PK_MARK))
    # Labels and formats in the active language.
    language, zone = translation.get_language(), timezone.get_current_timezone()
    statuses, priorities, kinds = _labels(language)
    # `localize(datetime)` is `date_format(value, "DATETIME_FORMAT")`, i.e. this.
    datetime_format = formats.get_format("DATETIME_FORMAT")

    # Dates come escaped (`_formatted_html`); ages are "now", "4m", "3h", "2d" or such a date.
    def local(at: datetime, fmt: str = datetime_format) -> str:
        return _formatted_html(at, fmt, language, zone)

    names = _memo_escape()
    now = now or timezone.now()
    parts = []
    for row in rows:
        waiting = ""
        since = row.customer_waiting_since
        if since is not None and row.status in ("new", "open"):
            dues = [d for d in (row.first_response_due_at, row.resolution_due_at) if d is not None]
            due = min(dues) if dues else None
            late = due is not None and due <= now
            when = local(since)  # escaped; the words around it have nothing to escape
            if due is None:
                title = f"Customer waiting since {when}"
            else:
                verb = "waited too long at" if late else "will have waited too long at"
                title = f"Customer waiting since {when}; {verb} {local(due)}"
            waiting = WAITING.format(
                late=" late" if late else "",
                title=title,
                age=compact_age(since, now, local=local),
                late_text=LATE_TEXT if late else "",
            )
        # As the template's `{{ t.updated_at }}` and `|date:'c'`: in the current time zone.
        updated = row.updated_at
        kind = row.customer_kind
        parts.append(
            ROW.format(
                url=f"{url_head}{row.id}{url_tail}",
                id=row.id,
                status=_STATUS_HTML.get(row.status) or escape(row.status),
                unread_class=" unread" if row.unread else "",
                unread=UNREAD_DOT if row.unread else "",
                preview=PREVIEW.format(escape(row.last_message_preview))
                if row.last_message_preview
                else "",
                waiting=waiting,
                care=CARE_BADGE if row.type == TicketType.CARE else "",
                subject=escape(row.subject),
                customer=escape(row.customer_display_name),
                kind=""
                if kind == CustomerKind.CUSTOMER
                else f' <span class="badge">{kinds.get(kind) or names(kind)}</span>',
                vip=VIP_BADGE if row.customer_tier == "vip" else "",
                status_label=statuses.get(row.status) or escape(row.status),
                priority=_PRIORITY_HTML.get(row.priority) or escape(row.priority),
                priority_label=priorities.get(row.priority) or escape(row.priority),
                assignee=UNASSIGNED
                if row.assignee_id is None
                else names(row.assignee_display_name),
                tags="".join(f'<span class="badge">{names(tag)}</span> ' for tag in row.tags),
                updated_iso=local(updated, "c"),
                updated_title=local(updated),
                updated_ago=compact_age(updated, now, local=local),
            )
        )
    return mark_safe("".join(parts))  # noqa: S308  (every value above is escaped)


def options(choices: Iterable[tuple[object, object]], *, selected: str | None = None) -> SafeString:
    """A `<select>`'s `<option>`s as the filter bar's template loop printed them (`selected`: the
    filter's value; the bulk bar's lists pass None and print no `selected` slot at all)."""
    if selected is None:
        return mark_safe(  # noqa: S308  (values and labels escaped)
            "".join(
                f'<option value="{escape(str(value))}">{escape(str(label))}</option>'
                for value, label in choices
            )
        )
    return mark_safe(  # noqa: S308  (values and labels escaped)
        "".join(
            f'<option value="{escape(str(value))}" {"selected" if str(value) == selected else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in choices
        )
    )


def fixed_options(
    choices: type[Choices] | tuple[tuple[str, str], ...],
    *,
    selected: str | None = None,
    leave_out: tuple[str, ...] = (),
) -> SafeString:
    """`options` of a code constant (a choices class, or pairs of plain strings), remembered per
    language and `selected`: labels are lazy translations, looked up on every call otherwise.
    `leave_out`: values not offered."""
    return _fixed_options(choices, translation.get_language(), selected, leave_out)


@functools.lru_cache(maxsize=512)
def _fixed_options(
    choices: type[Choices] | tuple[tuple[str, str], ...],
    language: str | None,
    selected: str | None,
    leave_out: tuple[str, ...],
) -> SafeString:
    pairs = choices if isinstance(choices, tuple) else choices.choices
    return options([(v, label) for v, label in pairs if v not in leave_out], selected=selected)


# The sidebar's built-in views, as the template loop printed them (whitespace included).
VIEW_ITEM = (
    '\n      <li><a href="?view={name}" {current}>{label} <span class="count"'
    ' data-view-count="{name}">{count}</span></a></li>\n      '
)


def view_items(views: Iterable[tuple[str, str, str]], *, current: str | None) -> SafeString:
    """The sidebar's `<li>`s: (name, label, shown count) each; `current` is the view on screen
    (None on a saved view's page: then no built-in view is the current page)."""
    return mark_safe(  # noqa: S308  (values escaped)
        "".join(
            VIEW_ITEM.format(
                name=escape(name),
                current='aria-current="page"' if name == current else "",
                label=escape(str(label)),
                count=escape(count),
            )
            for name, label, count in views
        )
    )


# The sidebar's saved views, as the template loop printed them (whitespace included).
SAVED_ITEM = (
    '\n      <li><a href="?saved={pk}" {current}>{name}{shared}'
    ' <span class="count" data-saved-count="{pk}">{count}</span></a></li>\n      '
)
SHARED_MARK = ' <span class="muted small">{}</span>'
NO_SAVED_VIEWS = '<li class="muted small">{}</li>\n      '


def saved_view_items(views: Iterable[tuple[SavedView, str]], *, current: int | None) -> SafeString:
    """The sidebar's saved views' `<li>`s: (view, shown count) each; `current` is the id of the
    saved view on screen (a template loop cost ~0.1 ms a page)."""
    items = [
        SAVED_ITEM.format(
            pk=int(view.pk),
            current='aria-current="page"' if view.pk == current else "",
            name=escape(view.name),
            shared=SHARED_MARK.format(escape(gettext("(shared)"))) if view.shared else "",
            count=escape(count),
        )
        for view, count in views
    ]
    if not items:
        return mark_safe(NO_SAVED_VIEWS.format(escape(gettext("None yet."))))  # noqa: S308  (escaped)
    return mark_safe("".join(items))  # noqa: S308  (values escaped)


def hidden_inputs(filters: Mapping[str, str], *, prefix: str = "f_") -> SafeString:
    """The filters as hidden inputs (the bulk bar and "Save these filters")."""
    return mark_safe(  # noqa: S308  (values escaped)
        "".join(
            f'<input type="hidden" name="{prefix}{escape(key)}" value="{escape(value)}">'
            for key, value in filters.items()
        )
    )
