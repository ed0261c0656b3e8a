"""The inbox page's lists around its rows (tickets/inbox_page.py): agents, mailboxes, saved views,
unread rows and tags in one query, the same rows in the same order as the ORM queries they
replaced, and read fresh on every page (a change shows up on the next request: nothing cached)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client, override_settings
from django.utils import timezone, translation

from mailboxes.models import Mailbox
from tests import factories
from tickets import inbox_page, saved_views, selectors, services
from tickets.models import TicketRead

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


def _rows(user) -> list[selectors.TicketRow]:
    return selectors.ticket_page(
        user=user, filters=selectors.InboxFilters(view="all"), all_emails=False
    ).items


def _mailbox(address: str, name: str = "") -> Mailbox:
    return Mailbox.objects.create(
        name=name, address=address, imap_host="imap.example.com", imap_username=address
    )


def test_one_query_gives_what_the_orm_queries_gave(cast, django_assert_num_queries) -> None:
    factories.AgentFactory(email="zed@example.com", name="")  # no name: shown by email
    factories.AgentFactory(email="gone@example.com", name="Gone", is_active=False)
    factories.AgentFactory(email="amy@example.com", name="Amy <&> Co")
    _mailbox("shop@example.com", "Shop")
    _mailbox("returns@example.com")
    saved_views.create_view(owner=cast.alice, name="b mine", filters={"view": "open"}, shared=False)
    saved_views.create_view(owner=cast.bob, name="a shared", filters={"status": "new"}, shared=True)
    saved_views.create_view(owner=cast.bob, name="bob's", filters={"view": "mine"}, shared=False)
    now = timezone.now()
    never = factories.TicketFactory(last_customer_message_at=now - timedelta(hours=1))
    read = factories.TicketFactory(last_customer_message_at=now - timedelta(hours=2))
    newer = factories.TicketFactory(last_customer_message_at=now - timedelta(minutes=5))
    quiet = factories.TicketFactory(last_customer_message_at=None)  # no customer message: read
    services.set_tags(quiet, ["zeta", "alpha", "b&w"])
    services.set_tags(never, ["refund"])
    TicketRead.objects.create(user=cast.alice, ticket=read, read_at=now - timedelta(hours=1))
    TicketRead.objects.create(user=cast.alice, ticket=newer, read_at=now - timedelta(hours=1))
    TicketRead.objects.create(user=cast.bob, ticket=never, read_at=now)  # Bob's, not Alice's
    rows = _rows(cast.alice)

    with django_assert_num_queries(1):
        lists = inbox_page.page_lists(user=cast.alice, rows=rows)
    orm = inbox_page._page_lists_orm(user=cast.alice, rows=rows, lists=True)

    assert lists.agents == orm.agents
    assert ("Gone" not in dict(lists.agents).values()) and len(lists.agents) == 6
    assert (
        lists.mailboxes
        == orm.mailboxes
        == [
            (str(Mailbox.objects.get(address="returns@example.com").pk), "returns@example.com"),
            (str(Mailbox.objects.get(address="shop@example.com").pk), "Shop <shop@example.com>"),
        ]
    )
    as_tuples = [(v.pk, v.name, v.owner_id, v.filters, v.shared) for v in lists.saved]
    assert as_tuples == [(v.pk, v.name, v.owner_id, v.filters, v.shared) for v in orm.saved]
    assert [v.name for v in lists.saved] == ["a shared", "b mine"]
    assert lists.unread == orm.unread == {never.pk, newer.pk}
    assert lists.tags == orm.tags
    assert (lists.tags[quiet.pk], lists.tags[never.pk], lists.tags[read.pk]) == (
        ["alpha", "bw", "zeta"],
        ["refund"],
        [],
    )


def test_the_table_alone_reads_only_the_unread_rows(cast, django_assert_num_queries) -> None:
    ticket = factories.TicketFactory(last_customer_message_at=timezone.now())
    rows = _rows(cast.alice)
    with django_assert_num_queries(1):
        lists = inbox_page.page_lists(user=cast.alice, rows=rows, lists=False)
    assert (lists.unread, lists.agents, lists.saved) == ({ticket.pk}, [], [])
    assert lists.tags == {ticket.pk: []}
    assert inbox_page.page_lists(user=cast.alice, rows=[]).unread == set()


def test_changes_show_on_the_next_page(cast, alice_client) -> None:
    ticket = factories.TicketFactory(subject="Where is it", last_customer_message_at=timezone.now())
    first = alice_client.get("/inbox/", {"view": "all"}).content.decode()
    assert "unread-dot" in first and "Newcomer Nina" not in first and "Night shift" not in first

    factories.AgentFactory(email="nina@example.com", name="Newcomer Nina")
    saved_views.create_view(owner=cast.bob, name="Night shift", filters={}, shared=True)
    services.mark_read(ticket.pk, user=cast.alice)
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])
    second = alice_client.get("/inbox/", {"view": "all"}).content.decode()

    assert "Newcomer Nina" in second and "Night shift" in second
    assert "unread-dot" not in second
    assert "Bob Builder" not in second


def test_the_statement_names_the_models_tables() -> None:
    from accounts.models import User
    from tickets.models import SavedView, Ticket

    mailbox = Ticket._meta.get_field("mailbox").related_model
    for model in (User, mailbox, SavedView, TicketRead):
        assert f" {model._meta.db_table} " in inbox_page.LISTS_SQL


def test_fixed_text_rendered_once_follows_each_requests_language(alice_client) -> None:
    """The shortcut help and the table head are rendered once per language (templatetags/inbox.py
    once_per_language), so an English page after a German one is English again."""
    english = alice_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    german = alice_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    spanish = alice_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    english_again = alice_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "<h2>Keyboard shortcuts</h2>" in english and "<th>Subject</th>" in english
    assert "<h2>Tastenkürzel</h2>" in german and "<th>Betreff</th>" in german
    assert "<h2>Atajos de teclado</h2>" in spanish and "<th>Asunto</th>" in spanish
    assert english_again == english.replace(_csrf(english), _csrf(english_again))


def _csrf(html: str) -> str:
    return html.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    "inside",
    [
        "{{ user.email }}",
        "{% csrf_token %}",
        "{% translate title %}",
        "{% url name %}",
        "{% now 'Y' %}",
    ],
)
def test_fixed_markup_refuses_anything_that_differs_between_requests(inside) -> None:
    """`{% fixed %}` (rendered once per language and process) holds text and literal translate,
    url and static tags only: the template does not load with anything else inside."""
    with pytest.raises(TemplateSyntaxError):
        Template("{% load i18n inbox %}{% fixed %}<p>" + inside + "</p>{% endfixed %}")


def test_fixed_markup_renders_in_each_requests_language() -> None:
    fixed = Template(
        "{% load i18n inbox %}{% fixed %}<a href=\"{% url 'tickets:inbox' %}\">"
        '{% translate "Inbox" %}</a>{% endfixed %}'
    )
    with override_settings(DEBUG=False):
        with translation.override("de"):
            german = fixed.render(Context())
        english = fixed.render(Context())
    assert english == '<a href="/inbox/">Inbox</a>'
    assert german == '<a href="/inbox/">Posteingang</a>'


def test_arrays_go_as_literals_that_postgres_reads_back_exactly(cast) -> None:
    """`selectors.array_text` (lists sent as one literal): ids and instants to the microsecond,
    in any zone, NULLs, and nothing at all, read back by Postgres as the values themselves."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from django.db import connection

    instants = [
        datetime(2026, 3, 4, 23, 30, 0, 1, tzinfo=UTC),
        None,
        datetime(2026, 3, 29, 3, 30, 59, 999_999, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("America/St_Johns")),
    ]
    ids = [1, 9_223_372_036_854_775_807, 42]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::bigint[], %s::timestamptz[], %s::bigint[]",
            [selectors.array_text(ids), selectors.array_text(instants), selectors.array_text([])],
        )
        got_ids, got_instants, empty = cursor.fetchone()
    assert got_ids == ids and empty == []
    assert got_instants == instants
    for naive_or_text in (datetime(2026, 1, 1), "1}", 1.5):
        with pytest.raises((ValueError, TypeError)):
            selectors.array_text([naive_or_text])


def test_a_row_read_at_the_very_microsecond_of_its_message_is_read(cast) -> None:
    at = timezone.now().replace(microsecond=123_457)
    ticket = factories.TicketFactory(last_customer_message_at=at)
    TicketRead.objects.create(user=cast.alice, ticket=ticket, read_at=at)
    rows = _rows(cast.alice)
    assert inbox_page.page_lists(user=cast.alice, rows=rows).unread == set()
    TicketRead.objects.filter(ticket=ticket).update(read_at=at - timedelta(microseconds=1))
    assert inbox_page.page_lists(user=cast.alice, rows=rows).unread == {ticket.pk}
