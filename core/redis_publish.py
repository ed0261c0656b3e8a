"""PUBLISH to Redis over one connection per event loop, without redis-py's per-command machinery.

Why hand-written: every chat line is one PUBLISH on the socket's event loop, and redis-py's
asyncio client spends ~47 µs of CPU on each (connection pool checkout and release, retry
wrapper, event dispatch, observability hooks, parser) against ~6 µs for writing the command and
matching its one-line reply here (`/work/prof`-style micro-benchmark on uvloop, in bench/README).
Under the chat benchmark that is ~5% of a daphne process's CPU per line.

Scope, kept small on purpose: PUBLISH only (the layer's subscriptions stay on redis-py), plain
TCP `redis://` URLs with an optional username and password. Anything else (TLS, sockets,
sentinels) makes `for_host` answer None and the layer keeps redis-py. Commands are written in
order and Redis answers in order, so each reply resolves the oldest waiting publish. A lost
connection fails every waiting publish (the layer logs it and resyncs the sockets concerned,
core.realtime) and the next publish reconnects; a reply that takes longer than REPLY_TIMEOUT
closes the connection the same way, checked by one timer per connection, not one per publish.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any
from urllib.parse import unquote, urlsplit

CONNECT_TIMEOUT = 5.0
REPLY_TIMEOUT = 5.0


class PublishError(ConnectionError):
    """Redis refused the command, or the connection failed before its reply."""


def for_host(host: dict[str, Any]) -> Publisher | None:
    """A Publisher for a channels_redis host entry it can serve, else None (use redis-py)."""
    if set(host) != {"address"} or not isinstance(host["address"], str):
        return None
    url = urlsplit(host["address"])
    if url.scheme != "redis" or url.query or not url.hostname:
        return None
    password = unquote(url.password) if url.password is not None else None
    username = unquote(url.username) if url.username else None
    return Publisher(url.hostname, url.port or 6379, username=username, password=password)


def _command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class Publisher:
    def __init__(self, host: str, port: int, *, username: str | None, password: str | None) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        """PUBLISH each (channel, data) in order; returns once Redis has answered them all."""
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        replies = connection.send(
            b"".join(
                b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(name), name, len(data), data)
                for name, data in ((channel.encode(), data) for channel, data in messages)
            ),
            len(messages),
        )
        try:
            for reply in replies:
                await reply
        except BaseException:
            for reply in replies:  # nobody waits for the rest any more
                if not reply.done():
                    reply.cancel()
                elif not reply.cancelled():
                    reply.exception()
            raise

    async def _connect(self) -> _Connection:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._connection is not None and not self._connection.closed:
                return self._connection
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _, connection = await loop.create_connection(_Connection, self.host, self.port)
                try:
                    if self.password is not None:
                        auth = [b"AUTH", self.password.encode()]
                        if self.username:
                            auth.insert(1, self.username.encode())
                        (reply,) = connection.send(_command(*auth), 1)
                        await reply
                except BaseException:
                    connection.close()
                    raise
            self._connection = connection
            return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.closed = False
        self._buffer = bytearray()
        # (deadline, future) per command sent, oldest first
        self._waiting: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP connection's: a Transport

    def send(self, payload: bytes, count: int) -> list[asyncio.Future[Any]]:
        if self.closed or self.transport is None:
            raise PublishError("The connection to Redis is closed")
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + REPLY_TIMEOUT
        futures = [loop.create_future() for _ in range(count)]
        self._waiting.extend((deadline, future) for future in futures)
        self.transport.write(payload)
        if self._watchdog is None:
            self._watchdog = loop.call_later(REPLY_TIMEOUT, self._check)
        return futures

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\r\n", start)) != -1:
            line = bytes(buffer[start:end])
            start = end + 2
            if not self._waiting:
                self._fail(PublishError(f"Unexpected reply from Redis: {line[:80]!r}"))
                return
            _, future = self._waiting.popleft()
            if future.done():
                continue
            if line[:1] == b"-":
                future.set_exception(PublishError(line[1:].decode(errors="replace")))
            else:  # ":<receivers>" for PUBLISH, "+OK" for AUTH
                future.set_result(line)
        del buffer[:start]

    def _check(self) -> None:
        self._watchdog = None
        if not self._waiting:
            return
        if self._waiting[0][0] <= time.monotonic():
            self._fail(PublishError(f"Redis did not answer within {REPLY_TIMEOUT:g} s"))
        else:
            self._watchdog = asyncio.get_running_loop().call_later(REPLY_TIMEOUT, self._check)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(PublishError(f"Lost the connection to Redis: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        waiting, self._waiting = self._waiting, collections.deque()
        for _, future in waiting:
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self._fail(PublishError("The connection to Redis was closed"))
