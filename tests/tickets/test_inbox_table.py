"""The inbox rows built in Python (tickets/inbox_table.py) print what the template loop printed.

TEMPLATE_PARTIAL is the table partial as it was before its rows moved to Python for speed; it
and today's partial render the same tickets (every badge, escaping, no name, unassigned, tags)
and must match byte for byte, so the page, static/js/inbox.js and the browser tests see no change.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from django.template import engines
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation

from customers.models import CustomerEmail, CustomerKind, Tier
from tests import factories
from tickets import inbox_table, selectors, services, waits
from tickets.models import Priority, Status, Ticket, TicketType

TEMPLATE_PARTIAL = """\
{% load inbox %}<div id="ticket-table" class="ticket-table" data-refresh-url="{% url 'tickets:inbox' %}{% if current_query %}?{{ current_query }}{% endif %}">
  <table class="grid tickets">
    <thead><tr><th class="pick"><input type="checkbox" data-select-page aria-label="Select every ticket on this page"></th><th>Subject</th><th>Customer</th><th>Status</th><th>Priority</th><th>Assignee</th><th>Tags</th><th class="wait">Waiting</th><th class="age">Updated</th></tr></thead>
    <tbody>
    {% for t in tickets %}
      <tr data-href="{% url 'tickets:ticket' t.pk %}" data-ticket-id="{{ t.pk }}" class="status-{{ t.status }}{% if t.pk in unread %} unread{% endif %}">
        <td class="pick"><input type="checkbox" name="ids" value="{{ t.pk }}" form="bulk-form" aria-label="Select #{{ t.pk }}"></td>
        <td class="subject">{% if t.pk in unread %}<span class="unread-dot" title="New customer message"><span class="sr-only">Unread: </span></span>{% endif %}{% if t.type == "care" %}<span class="badge care">Care</span> {% endif %}<a href="{% url 'tickets:ticket' t.pk %}">{{ t.subject }}</a> <span class="muted">#{{ t.pk }}</span>{% if t.last_message_preview %} <span class="preview">{{ t.last_message_preview }}</span>{% endif %}</td>
        <td>{{ t.customer.display_name }}{% if t.customer.kind != "customer" %} <span class="badge">{{ t.customer.get_kind_display }}</span>{% endif %}{% if t.customer.tier == "vip" %} <span class="badge vip">VIP</span>{% endif %}</td>
        <td><span class="status {{ t.status }}">{{ t.get_status_display }}</span></td>
        <td class="prio {{ t.priority }}">{{ t.get_priority_display }}</td>
        <td>{% if t.assignee %}{{ t.assignee.display_name }}{% else %}<span class="muted">—</span>{% endif %}</td>
        <td>{% for tag in t.tags.all %}<span class="badge">{{ tag.name }}</span> {% endfor %}</td>
        <td class="wait">{% if t.customer_waiting_since and t.is_open %}{% with due=t.due %}<span class="waited{% if due and due <= now %} late{% endif %}" title="Customer waiting since {{ t.customer_waiting_since }}{% if due %}; {% if due <= now %}waited too long at{% else %}will have waited too long at{% endif %} {{ due }}{% endif %}">{{ t.customer_waiting_since|compact_age }}{% if due and due <= now %}<span class="sr-only"> (waited too long)</span>{% endif %}</span>{% endwith %}{% endif %}</td>
        <td class="age"><time datetime="{{ t.updated_at|date:'c' }}" title="{{ t.updated_at }}">{{ t.updated_at|compact_age }}</time></td>
      </tr>
    {% empty %}
      <tr><td colspan="9"><div class="empty-state">{% if has_filters %}No tickets match these filters. <a class="button" href="{% url 'tickets:inbox' %}?view={{ view_name|default:'open' }}" data-clear-filters>Clear filters</a>{% else %}No tickets here.{% endif %}</div></td></tr>
    {% endfor %}
    </tbody>
  </table>
  <nav class="pager" aria-label="Pages">
    {% if is_paged %}<a class="button" href="{% url 'tickets:inbox' %}?{{ first_query }}" hx-get="{% url 'tickets:inbox' %}?{{ first_query }}" hx-target="#ticket-table" hx-swap="outerHTML" hx-push-url="true">First page</a>{% endif %}
    {% if next_query %}<a class="button" rel="next" href="{% url 'tickets:inbox' %}?{{ next_query }}" hx-get="{% url 'tickets:inbox' %}?{{ next_query }}" hx-target="#ticket-table" hx-swap="outerHTML" hx-push-url="true">Next page</a>{% endif %}
  </nav>
</div>
"""


def _render_both(user, *, unread=frozenset(), has_filters=False) -> tuple[str, str]:
    now = timezone.now()
    page = selectors.ticket_page(
        user=user, filters=selectors.InboxFilters(view="all"), all_emails=False
    )
    for row in page.items:
        row.unread = row.id in unread
    tickets = list(
        Ticket.objects.filter(pk__in=[row.id for row in page.items])
        .select_related("customer", "assignee")
        .prefetch_related("tags", "customer__emails")
        .order_by("-updated_at", "-id")
    )
    for ticket in tickets:
        ticket.due = waits.overdue_at(ticket)
    context = {
        "current_query": "view=all",
        "first_query": "view=all",
        "next_query": "x=1",
        "is_paged": True,
        "has_filters": has_filters,
        "view_name": "all",
    }
    old = (
        engines["django"]
        .from_string(TEMPLATE_PARTIAL)
        .render({**context, "tickets": tickets, "unread": unread, "now": now})
    )
    new = render_to_string(
        "tickets/partials/ticket_table.html",
        {**context, "rows": inbox_table.render_rows(page.items, now=now)},
    )
    return old, new


def test_rows_match_the_template_loop_they_replaced(cast) -> None:
    now = timezone.now()
    vendor = factories.CustomerFactory(kind=CustomerKind.VENDOR, tier=Tier.VIP)
    nameless = factories.CustomerFactory(name="", email="Q.Nameless@shop.example")
    # No primary address: display_name falls back to the first one.
    CustomerEmail.objects.filter(customer=nameless).update(is_primary=False)
    CustomerEmail.objects.create(customer=nameless, address="second@shop.example")
    cases = [
        dict(subject="<script>alert(\"x\")</script> & 'quotes'", customer=vendor),
        dict(subject="Care", type=TicketType.CARE, status=Status.PENDING, assignee=cast.bob),
        dict(subject="Nameless", customer=nameless, priority=Priority.URGENT),
        dict(subject="Old", status=Status.SOLVED, updated_at=now - timedelta(days=400)),
        dict(subject="Just now", updated_at=now - timedelta(seconds=5)),
        dict(subject="Hours", updated_at=now - timedelta(hours=5, minutes=7)),
    ]
    for i, fields in enumerate(cases):
        fields.setdefault("updated_at", now - timedelta(minutes=i, seconds=i * 7))
        ticket = factories.TicketFactory(**fields)
        if i % 2 == 0:
            services.set_tags(ticket, ["zeta", "alpha", "b&w"])
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=fields["updated_at"])
    cast.bob.name = ""
    cast.bob.save(update_fields=["name"])
    # Rows with a preview, a waiting customer (one past the target), and one unread.
    waiting = factories.TicketFactory(subject="Waiting", status=Status.OPEN, updated_at=now)
    Ticket.objects.filter(pk=waiting.pk).update(
        last_message_preview="Where is <my> parcel?",
        customer_waiting_since=now - timedelta(hours=3),
        first_response_due_at=now - timedelta(hours=1),
        resolution_due_at=now + timedelta(days=1),
    )
    soon = factories.TicketFactory(subject="Soon", status=Status.NEW, updated_at=now)
    Ticket.objects.filter(pk=soon.pk).update(
        customer_waiting_since=now - timedelta(minutes=20),
        first_response_due_at=now + timedelta(hours=2),
    )

    old, new = _render_both(cast.alice, unread={waiting.pk})

    assert new == old
    assert "Where is &lt;my&gt; parcel?" in new and "(waited too long)" in new
    assert new.count('class="unread-dot"') == 1 and ">20m<" in new
    assert "Q.Nameless" not in new and ">q.nameless<" in new
    assert "&lt;script&gt;" in new and '<span class="badge care">Care</span>' in new


def test_an_empty_page_prints_the_empty_row(cast) -> None:
    old, new = _render_both(cast.alice)
    assert new == old
    assert "No tickets here." in new

    old, new = _render_both(cast.alice, has_filters=True)
    assert new == old
    assert "Clear filters" in new and "?view=all" in new


def test_remembered_dates_follow_each_requests_language_and_time_zone() -> None:
    """Formatted dates are remembered per (instant, format, language, time zone)."""
    at = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    now = at + timedelta(days=90)
    seen = set()
    for language, zone in (
        ("en", "UTC"),
        ("de", "UTC"),
        ("en", "Asia/Tokyo"),
        ("de", "Asia/Tokyo"),
    ):
        with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
            expected = dateformat.format(timezone.localtime(at), "M j")
            assert inbox_table.compact_age(at, now) == expected
            assert inbox_table.compact_age(at, now) == expected  # remembered: the same
            seen.add(expected)
    assert len(seen) == 4  # March 4 in UTC, March 5 in Tokyo; English and German month names


def test_remembered_option_lists_follow_the_language_and_the_selected_value() -> None:
    """The filter bar's fixed `<option>` lists (choices of code constants) are remembered per
    language and selected value: each prints what `options` prints over the same choices."""
    seen = set()
    for language in ("en", "de", "es", "en"):
        with translation.override(language):
            for selected in (None, "", "open", "spam", "<nope>"):
                for _ in range(2):  # the second time from memory
                    assert inbox_table.fixed_options(Status, selected=selected) == (
                        inbox_table.options(Status.choices, selected=selected)
                    )
            without_spam = inbox_table.fixed_options(Status, leave_out=(Status.SPAM,))
            assert without_spam == inbox_table.options(
                [(v, label) for v, label in Status.choices if v != Status.SPAM]
            )
            assert 'value="spam"' not in without_spam
            seen.add(str(inbox_table.fixed_options(TicketType)))
    assert len(seen) == 3  # English, German and Spanish labels
    pairs = (("assign", "Assign to"), ("x&y", "<b>"))
    assert inbox_table.fixed_options(pairs) == inbox_table.options(pairs)
    assert 'value="x&amp;y">&lt;b&gt;<' in inbox_table.fixed_options(pairs)


SAVED_LOOP = """{% load i18n %}{% for sv, count in saved_views %}
      <li><a href="?saved={{ sv.pk }}" {% if saved_id == sv.pk %}aria-current="page"{% endif %}>{{ sv.name }}{% if sv.shared %} <span class="muted small">{% translate "(shared)" %}</span>{% endif %} <span class="count" data-saved-count="{{ sv.pk }}">{{ count }}</span></a></li>
      {% empty %}<li class="muted small">{% translate "None yet." %}</li>
      {% endfor %}"""


def test_saved_views_print_what_the_template_loop_printed() -> None:
    from tickets.models import SavedView

    views = [
        (SavedView(pk=7, name="Bob's <open> & co", shared=False), "12"),
        (SavedView(pk=1234, name="Refunds", shared=True), "999+"),
    ]
    loop = engines["django"].from_string(SAVED_LOOP)
    for language in ("en", "de", "es"):
        with translation.override(language):
            for current in (None, 7, 1234, 99):
                old = loop.render({"saved_views": views, "saved_id": current})
                new = inbox_table.saved_view_items(views, current=current)
                assert new == old
            empty = loop.render({"saved_views": [], "saved_id": None})
            assert inbox_table.saved_view_items([], current=None) == empty
    assert "Bob&#x27;s &lt;open&gt; &amp; co" in inbox_table.saved_view_items(views, current=7)
