"""The hot reads that Postgres prepares once per connection (core/db.py): the inbox's rows and
lists, the signed-in user's row, a saved view and a tag's id. They answer what the same
statements answer unprepared, the query log and counts still see them, a failed transaction or
a new connection does not break them, and the setting turns them off."""

from __future__ import annotations

import psycopg
import pytest
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from core import db
from tests import factories
from tickets import saved_views, services

pytestmark = pytest.mark.django_db


def _prepared() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: their SQL -> (generic, custom) plans."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {sql: (generic, custom) for sql, generic, custom in cursor.fetchall()}


@pytest.fixture
def desk(cast) -> Client:
    for n in range(6):
        ticket = factories.TicketFactory(subject=f"Parcel {n} <late>", assignee=cast.bob)
        services.set_tags(ticket, ["refund"] if n % 2 else ["late", "refund"])
    factories.TicketFactory(subject="Someone else's", assignee=cast.alice)
    client = Client()
    client.force_login(cast.alice)
    return client


FILTERS = (
    {},
    {"view": "all", "status": "new", "assignee": "BOB"},
    {"view": "all", "tag": "refund"},
)


def _page(client: Client, params: dict[str, str]) -> str:
    """The page's HTML without its CSRF token (masked anew on every response)."""
    html = client.get("/inbox/", params).content.decode()
    token = html.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    return html.replace(token, "TOKEN")


@pytest.mark.parametrize("filters", FILTERS, ids=["first", "status+assignee", "tag"])
def test_prepared_pages_are_the_pages_read_unprepared(desk, cast, filters) -> None:
    params = {k: (str(cast.bob.pk) if v == "BOB" else v) for k, v in filters.items()}
    with override_settings(SUPPORTDESK_DB_PREPARED_STATEMENTS=False):
        plain = [_page(desk, params) for _ in range(2)]
    assert not _prepared()
    prepared = [_page(desk, params) for _ in range(7)]
    assert set(prepared) == set(plain) and len(set(plain)) == 1
    assert "Parcel 1 &lt;late&gt;" in prepared[0]
    statements = _prepared()
    rows = next(plans for sql, plans in statements.items() if sql.startswith('SELECT "tickets_'))
    lists = next(plans for sql, plans in statements.items() if "json_build_array(u.id" in sql)
    assert sum(rows) == 7 and sum(lists) == 7  # prepared once, then executed by name
    user_row = next(plans for sql, plans in statements.items() if "accounts_user" in sql)
    assert sum(user_row) >= 7  # the session's user, read fresh on every request
    if "tag" not in params:
        # Planned no more once the generic plan proved as good (Postgres: after 5 custom plans).
        assert rows[0] >= 1


def test_query_counts_and_logs_see_prepared_statements(desk) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = desk.get("/inbox/")
    assert response.status_code == 200
    logged = [q["sql"] for q in queries.captured_queries]
    # The user's row, the rows and the lists, each with its values in (the sidebar's counts
    # follow: the suite forgets them before every test).
    assert logged[0].endswith(f'FROM "accounts_user" WHERE "id" = {desk.session["_auth_user_id"]}')
    assert logged[1].startswith('SELECT "tickets_ticket"."id" AS "id"')
    assert "'new'" in logged[1] and "%s" not in logged[1]
    assert "json_build_array(u.id" in logged[2] and "'{" in logged[2]


def test_a_failed_transaction_does_not_break_prepared_statements(desk, cast) -> None:
    view = saved_views.create_view(
        owner=cast.alice, name="Mine", filters={"view": "mine"}, shared=False
    )
    assert desk.get("/inbox/", {"saved": view.pk}).status_code == 200
    with pytest.raises(DatabaseError), transaction.atomic():
        assert db.fetch_one("SELECT name FROM tickets_savedview WHERE id = %s", [view.pk]) == (
            "Mine",
        )
        db.fetch_one("SELECT 1 / (count(*) - count(*)) FROM tickets_savedview", [])
    # Rolled back: the same statements, prepared before and inside it, still answer.
    assert db.fetch_one("SELECT name FROM tickets_savedview WHERE id = %s", [view.pk]) == ("Mine",)
    response = desk.get("/inbox/", {"saved": view.pk})
    assert response.status_code == 200 and b"Someone else&#x27;s" in response.content


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_them_again(desk) -> None:
    assert desk.get("/inbox/").status_code == 200
    assert _prepared()
    connection.close()  # as when Postgres restarts or CONN_MAX_AGE ends a connection
    assert not _prepared()
    response = desk.get("/inbox/")
    assert response.status_code == 200 and b"Parcel 5" in response.content
    assert _prepared()


@override_settings(SUPPORTDESK_DB_PREPARED_STATEMENTS=False)
def test_turned_off_nothing_is_prepared(desk, cast) -> None:
    for _ in range(7):
        assert desk.get("/inbox/", {"view": "all", "tag": "refund"}).status_code == 200
    assert db.fetch_one("SELECT id FROM tickets_tag WHERE name = %s", ["late"]) is not None
    assert not _prepared()


@pytest.mark.django_db(transaction=True)
def test_a_connection_postgres_dropped_is_replaced_on_the_next_request(desk) -> None:
    """The user's row is a request's first query, and it is prepared: it runs Django's health
    check first, as `connection.cursor()` does, and reconnects."""
    assert desk.get("/inbox/").status_code == 200
    backend = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    dsn = {k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)}
    with psycopg.connect(**dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])
    close_old_connections()  # what each real request starts with (the test client skips it)
    response = desk.get("/inbox/")
    assert response.status_code == 200 and b"Parcel 5" in response.content
    assert connection.connection.info.backend_pid != backend
