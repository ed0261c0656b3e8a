"""The chat hot path's own async Postgres connections (psycopg 3 AsyncConnectionPool).

Why: every sync ORM call made from a socket goes through `database_sync_to_async`, which runs on
one shared thread per process, so one message's INSERT waits for every other socket's database
work (TRAPS.md: +100-290 ms at p99 at 100 chats x 2 msg/s). Storing a chat line is one SQL
statement, so it runs here, on the socket's event loop, over a small pool of autocommit
connections; everything else keeps using the ORM.

Only with Postgres (the production profile); elsewhere `available()` is False and callers use
the ORM. SUPPORTDESK_CHAT_DB_POOL sets the connections per process (default 4, 0 turns this off).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

_pools: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = {}


def available() -> bool:
    return settings.SUPPORTDESK_CHAT_DB_POOL > 0 and connections["default"].vendor == "postgresql"


@functools.cache
def _libpq_keywords() -> frozenset[str]:
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _conninfo() -> str:
    from psycopg.conninfo import make_conninfo

    db = settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": db.get("NAME") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
    }
    # libpq options such as sslmode, as Django passes them too; not Django's or psycopg's own
    # (`prepare_threshold`, `isolation_level`...), which are no connection string keywords.
    for key, value in (db.get("OPTIONS") or {}).items():
        if (
            key in _libpq_keywords()
            and isinstance(value, str | int)
            and not isinstance(value, bool)
        ):
            params[key] = value
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


async def _open() -> Any:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(
        _conninfo(),
        min_size=1,
        max_size=settings.SUPPORTDESK_CHAT_DB_POOL,
        kwargs={"autocommit": True},
        timeout=10,
        name="livechat",
        open=False,
    )
    await pool.open(wait=False)
    return pool


async def pool() -> Any:
    """This event loop's pool, opened on first use (daphne has one loop; tests may have several)."""
    loop = asyncio.get_running_loop()
    task = _pools.get(loop)
    if task is not None and task.done() and task.exception() is None:
        return task.result()  # the usual case: no shield (a future and callbacks) per statement
    if task is None or (task.done() and task.exception() is not None):
        task = _pools[loop] = loop.create_task(_open())
    return await asyncio.shield(task)


async def fetchone(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run one statement in its own transaction (autocommit) and return its first row."""
    chat_pool = await pool()
    conn = await chat_pool.getconn()
    try:
        cursor = conn.cursor()
        await cursor.execute(sql, params)
        return await cursor.fetchone()
    finally:
        # Not `async with pool.connection()`: its exit commits, a lock and a wait for nothing on
        # an autocommit connection (~10 µs a line). putconn still rolls back or discards a
        # connection left in a bad state.
        await chat_pool.putconn(conn)


async def fetchall(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run one read-only statement (autocommit) and return its rows."""
    chat_pool = await pool()
    conn = await chat_pool.getconn()
    try:
        cursor = conn.cursor()
        await cursor.execute(sql, params)
        return await cursor.fetchall()
    finally:
        await chat_pool.putconn(conn)


async def close() -> None:
    """Close this event loop's pool (a loop that ends before its process does, as in tests)."""
    task = _pools.pop(asyncio.get_running_loop(), None)
    if task is not None and task.done() and task.exception() is None:
        await task.result().close()
