"""Statements the server prepares once per connection: for the few hot reads every agent page
makes (the inbox's rows and lists, the signed-in user's row, a saved view).

Django binds parameters on the client (psycopg's `ClientCursor`): each execution sends the SQL
text with its values inlined, and Postgres parses and plans it again. For the inbox's two main
statements the planning alone was ~0.25 ms each at 1,000,000 tickets, more than executing
them (a page of 51 rows by an ordered index: ~0.2 ms). A prepared statement is parsed once per
connection, and once Postgres finds its generic plan as cheap as the custom ones (after five
executions) it stops planning altogether: the rows of a status + assignee page went from
~0.56 to ~0.27 ms, measured on the same connection. A statement whose best plan depends on its
values (a tag filter: the tag's statistics) keeps a custom plan each time, chosen by Postgres.

The cursor is Django's wrapper around a server-binding psycopg cursor, so query logging,
`execute_wrapper`s and the test suite's query counts see these statements like any other.

Prepared statements live in the server session: a pooler in transaction mode (PgBouncer before
1.21, or without `max_prepared_statements`) hands the next transaction another session, where
the name is unknown. `SUPPORTDESK_DB_PREPARED_STATEMENTS=false` turns them off (plain cursors,
as the rest of Django uses).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils.asyncio import async_unsafe


class _PreparedCursor(psycopg.Cursor[Any]):
    """A server-binding cursor that asks for every statement to be prepared (Django's
    `CursorWrapper.execute` passes no `prepare` argument)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: Any = None
    ) -> _PreparedCursor:
        super().execute(query, params, prepare=True, binary=binary)
        return self


class _LoggedPreparedCursor(CursorDebugWrapper):
    """Django's debug wrapper logs what a client-binding cursor sent (`last_executed_query`
    reads it back from the cursor: None from a prepared one); this logs the statement with its
    values in, as Django does on connections that bind on the server."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


def prepared_statements_enabled() -> bool:
    return connection.vendor == "postgresql" and settings.SUPPORTDESK_DB_PREPARED_STATEMENTS


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A cursor whose statements Postgres prepares once per connection (psycopg names them and
    keeps the last 100). Plain SQL with `%s` placeholders, as for `connection.cursor()`; on
    SQLite, or with prepared statements turned off, it is `connection.cursor()`."""
    if not prepared_statements_enabled():
        with connection.cursor() as cursor:
            yield cursor
        return
    with _open_prepared() as cursor:
        yield cursor


@async_unsafe
def _open_prepared() -> CursorWrapper:
    """What `connection.cursor()` does (`BaseDatabaseWrapper._cursor`), with our cursor: the
    health check first (the first query of a request finds a connection Postgres dropped and
    opens another), Django's errors, the thread check, and logging when queries are logged
    (DEBUG, the test suite)."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _PreparedCursor(connection.connection)
    connection.validate_thread_sharing()
    if connection.queries_logged:
        return _LoggedPreparedCursor(raw, connection)
    return CursorWrapper(raw, connection)


def fetch_one(sql: str, params: list[Any] | tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The first row of a prepared statement (`prepared_cursor`)."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row
