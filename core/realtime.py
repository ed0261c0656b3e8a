"""The one realtime choke point: every event reaches the channel layer through `_send` here.

- `send_event_on_commit(group, event)`: from services (sync code), once the transaction commits.
- `asend_event(group, event)`: from async code (a socket's event loop), for a record already
  committed or an ephemeral signal (typing, read); `asend_events(pairs)` for several at once, in
  order, in one Redis pipeline (a chat line and its queue entry, a batch of follow-ups).

A channel layer is a delivery hint, never the record (TRAPS.md): a publish that fails is logged,
not raised into the request that caused it, and the sockets that may have missed it catch up by
themselves. Apps name the groups whose members can catch up from the database
(`resync_groups("chat-")`); their member sockets then get a `realtime.resync` event (handler
`realtime_resync`, with the `groups` concerned) when
- a publish to one of those groups failed: at once for this process's members, and through the
  layer for every process's members as soon as a retry gets through (every 0.5 s);
- the layer's connection to Redis came back after a drop (every process notices its own), since
  whatever was published meanwhile never reached that process.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from core import redis_publish

log = logging.getLogger(__name__)

RESYNC_EVENT = "realtime.resync"
RESYNC_RETRY_SECONDS = 0.5
_resync_prefixes: set[str] = set()


def resync_groups(prefix: str) -> None:
    """Groups named `prefix...` have members that catch up from the database on `realtime.resync`
    (register in AppConfig.ready(); every consumer in such a group must handle the event)."""
    _resync_prefixes.add(prefix)


def wants_resync(group: str) -> bool:
    return group.startswith(tuple(_resync_prefixes))


def resync_event(groups: Iterable[str]) -> dict[str, Any]:
    return {"type": RESYNC_EVENT, "groups": sorted(groups)}


def send_event_on_commit(group: str, event: Mapping[str, Any]) -> None:
    """Publish `event` to `group` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send_from_sync(group, event))


async def asend_event(group: str, event: Mapping[str, Any]) -> None:
    """Publish `event` to `group` now, from async code."""
    layer = get_channel_layer()
    if layer is not None:
        await _send(layer, group, event)


async def asend_events(published: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Publish several (group, event) pairs now, in order, from async code: one Redis round trip
    on the production layer (a chat line and its queue entry), one publish at a time elsewhere."""
    layer = get_channel_layer()
    if layer is None:
        return
    send_many = getattr(layer, "group_send_many", None)
    if send_many is None or len(published) == 1:
        for group, event in published:
            await _send(layer, group, event)
        return
    try:
        await send_many([(group, dict(event)) for group, event in published])
    except Exception:
        log.warning("Could not publish %d events", len(published), exc_info=True)
        _publish_failed(layer, [group for group, _ in published])


def _send_from_sync(group: str, event: Mapping[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send)(layer, group, event)
    except RuntimeError:
        # Sync code on a thread that runs an event loop (a test driving Playwright's sync API):
        # async_to_sync refuses before `_send` runs. Logged like any failed publish, never raised
        # into the change that caused it.
        log.warning("Could not publish %s to %s", event.get("type"), group, exc_info=True)
        if wants_resync(group):
            _retrier.add(group)


async def _send(layer: Any, group: str, event: Mapping[str, Any]) -> None:
    """The choke point: every publish of the product goes through here."""
    try:
        await layer.group_send(group, dict(event))
    except Exception:
        log.warning("Could not publish %s to %s", event.get("type"), group, exc_info=True)
        _publish_failed(layer, [group])


def _publish_failed(layer: Any, groups: Iterable[str]) -> None:
    concerned = [group for group in groups if wants_resync(group)]
    if not concerned:
        return
    resync_local = getattr(layer, "resync_local", None)
    if resync_local is not None:
        resync_local(concerned)  # this process's members catch up at once
    for group in concerned:
        _retrier.add(group)  # every process's members, once the layer takes it


class _ResyncRetrier:
    """Publishes `realtime.resync` to groups whose publish failed, every 0.5 s until it gets
    through. Its own thread and event loop, so it works the same from a socket's loop, a request
    thread or a Celery worker, and outlives the loop of the publish that failed."""

    def __init__(self) -> None:
        self._groups: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, group: str) -> None:
        with self._lock:
            self._groups.add(group)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="realtime-resync", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(RESYNC_RETRY_SECONDS)
            with self._lock:
                groups, self._groups = self._groups, set()
                if not groups:
                    self._thread = None
                    return
            failed = set()
            for group in groups:
                try:
                    if layer is None:
                        raise RuntimeError("No channel layer is configured")
                    await layer.group_send(group, resync_event([group]))
                except Exception:
                    failed.add(group)
            if failed:
                log.info("Resync of %s groups still waits for the channel layer", len(failed))
                with self._lock:
                    self._groups |= failed


_retrier = _ResyncRetrier()


class Mailbox:
    """A socket's inbox: what its users need of asyncio.Queue (put_nowait, get) at a tenth of its
    memory. Used for each socket's inbox in the channel layer (the stock layer gave every socket
    an unbounded asyncio.Queue, three deques and an Event, about 3 KiB per idle socket by
    tracemalloc over 300 sockets) and for daphne's per-socket input queue (supportdesk/server.py).
    Made for one getter at a time, as Channels has: a consumer's single receive loop."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: collections.deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        # The item stays queued until the getter runs, so a getter cancelled after its wake-up
        # loses nothing (as with asyncio.Queue).
        while not self._items:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter and waiter.done():
                    self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None  # an idle socket keeps no deque block
        return item


# The production channel layer: channels_redis' pub/sub layer with three hot-path fixes.
# - Its shard holds one asyncio.Lock around every PUBLISH and SUBSCRIBE of the process, so each
#   chat line waited for every other socket's publish round-trip (and for the SUBSCRIBEs of a
#   connect storm). Publishing needs no lock: it goes over the loop's own lean connection
#   (core/redis_publish.py, ~8x less CPU per PUBLISH than redis-py), or, for a host it does
#   not serve, over redis-py's pool, bounded by a semaphore so a burst cannot exceed the pool's
#   cap (TRAPS.md: MaxConnectionsError).
# - It decoded a group message once per member socket; here it is decoded once per process and
#   the same dict goes to every member (consumers treat events as read-only).
# - Its reader polled with a timeout per message; here the read blocks (_Shard._do_receiving).
PUBLISH_CONCURRENCY = 16

try:
    from channels_redis.pubsub import (
        RedisPubSubChannelLayer,
        RedisPubSubLoopLayer,
        RedisSingleShardConnection,
    )
    from channels_redis.utils import _wrap_close, decode_hosts
except ImportError:  # pragma: no cover - the embedded profile has no Redis layer
    RedisPubSubChannelLayer = None

if RedisPubSubChannelLayer is not None:
    from redis.asyncio.client import PubSub

    class _PubSub(PubSub):
        """redis-py's PubSub, which calls on_connect to resubscribe after its connection came
        back, telling the layer too: what was published meanwhile never reached this process."""

        def __init__(self, *args: Any, on_reconnect: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._on_reconnect = on_reconnect

        async def on_connect(self, connection: Any) -> None:
            await super().on_connect(connection)
            self._on_reconnect()

    class _Shard(RedisSingleShardConnection):  # type: ignore[misc]  # channels_redis is untyped (Any)
        def __init__(self, host: Any, channel_layer: Any) -> None:
            super().__init__(host, channel_layer)
            self._publishing = asyncio.Semaphore(PUBLISH_CONCURRENCY)
            # PUBLISH over our own lean connection (core/redis_publish.py) when the host is a
            # plain redis:// URL; subscriptions stay on redis-py.
            self._publisher = redis_publish.for_host(host)

        def _ensure_redis(self) -> None:
            if self._redis is None:
                super()._ensure_redis()
                redis: Any = self._redis  # set by the call above
                self._pubsub = _PubSub(
                    redis.connection_pool,
                    on_reconnect=self._reconnected,
                    event_dispatcher=redis._event_dispatcher,
                )

        async def flush(self) -> None:
            if self._publisher is not None:
                self._publisher.close()
            await super().flush()

        def _reconnected(self) -> None:
            log.warning("Channel layer reconnected to Redis; sockets catch up from the database")
            self.channel_layer.resync_local(None)

        async def publish(self, channel: str, message: bytes) -> None:
            if self._publisher is not None:
                await self._publisher.publish_many([(channel, message)])
                return
            async with self._publishing:
                self._ensure_redis()
                await self._redis.publish(channel, message)

        async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
            # One write and one round trip for all (~35% less CPU than two concurrent
            # publishes, measured with redis-py's pipeline on uvloop).
            if self._publisher is not None:
                await self._publisher.publish_many(messages)
                return
            async with self._publishing:
                self._ensure_redis()
                pipe = self._redis.pipeline(transaction=False)
                for channel, message in messages:
                    pipe.publish(channel, message)
                await pipe.execute()

        async def _do_receiving(self) -> None:
            # channels_redis's loop, but its read blocks instead of polling every 0.1 s: a read
            # with a timeout arms and cancels a timer and a retry wrapper for every message
            # (~17 µs a message against ~8.5 µs, measured). A dropped connection still raises
            # out of the read and redis-py reconnects (resubscribing, `_reconnected`) as before;
            # flush() cancels the task.
            while True:
                try:
                    if self._pubsub and self._pubsub.subscribed:
                        message = await self._pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=None
                        )
                        self._receive_message(message)
                    else:
                        await asyncio.sleep(0.1)
                except (asyncio.CancelledError, GeneratorExit):
                    raise
                except BaseException:
                    log.exception("Unexpected exception in the channel layer's receive task")
                    await asyncio.sleep(1)

        def _receive_message(self, message: Any) -> None:
            if message is None:
                return
            name = message["channel"]
            if isinstance(name, bytes):
                name = name.decode()
            layer = self.channel_layer
            queues = layer.channels
            if name in queues:
                targets: Any = (name,)
            elif name in layer.groups:
                targets = layer.groups[name]
            else:
                return
            try:
                event = layer.channel_layer.deserialize(message["data"])
            except Exception:
                # Dropped here rather than in the receive loop, which would pause for a second.
                log.warning("Undecodable channel layer message on %s", name, exc_info=True)
                return
            for channel_name in targets:
                queue = queues.get(channel_name)
                if queue is not None:
                    queue.put_nowait(event)

    class _LoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]  # channels_redis is untyped (Any)
        def __init__(self, hosts: Any = None, **kwargs: Any) -> None:
            super().__init__(hosts, **kwargs)
            self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

        async def _subscribe_to_channel(self, channel: str) -> None:
            self.channels[channel] = Mailbox()
            await self._get_shard(channel).subscribe(channel)

        async def new_channel_into(self, inbox: Mailbox, prefix: str = "specific.") -> str:
            channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
            self.channels[channel] = inbox
            try:
                await self._get_shard(channel).subscribe(channel)
            except BaseException:
                del self.channels[channel]
                raise
            return channel

        async def delete_channel(self, channel: str) -> None:
            if self.channels.pop(channel, None) is not None:
                await self._get_shard(channel).unsubscribe(channel)

        async def group_send_many(self, published: list[tuple[str, dict[str, Any]]]) -> None:
            by_shard: dict[Any, list[tuple[str, bytes]]] = {}
            for group, message in published:
                channel = self._get_group_channel_name(group)
                shard = self._get_shard(channel)
                by_shard.setdefault(shard, []).append(
                    (channel, self.channel_layer.serialize(message))
                )
            for shard, messages in by_shard.items():  # one shard unless several hosts
                await shard.publish_many(messages)

        def resync_local(self, groups: Iterable[str] | None) -> None:
            """Give this process's members of `groups` (None: of every resync group) one
            `realtime.resync` event each, naming the groups concerned."""
            wanted = set(groups) if groups is not None else None
            concerned: dict[str, list[str]] = {}
            named = f"{self.prefix}__group__"  # how the layer names a group's Redis channel
            for channel_name, members in self.groups.items():
                group = channel_name.removeprefix(named)
                if (group in wanted) if wanted is not None else wants_resync(group):
                    for channel in members:
                        concerned.setdefault(channel, []).append(group)
            for channel, names in concerned.items():
                inbox = self.channels.get(channel)
                if inbox is not None:
                    inbox.put_nowait(resync_event(names))

    class PubSubLayer(RedisPubSubChannelLayer):  # type: ignore[misc]  # channels_redis is untyped (Any)
        """CHANNEL_LAYERS backend in the production profile (see the comment above)."""

        def deserialize(self, message: Any) -> Any:
            # Queued events are already decoded by _Shard._receive_message.
            return message if isinstance(message, dict) else super().deserialize(message)

        async def group_send_many(self, published: list[tuple[str, dict[str, Any]]]) -> None:
            """group_send for several groups at once, in order (see asend_events)."""
            await self._get_layer().group_send_many(published)

        async def new_channel_into(self, inbox: Mailbox) -> str:
            """A new channel whose messages go into `inbox`, which may also hold other input: the
            socket's own (ChatSocket.__call__ waits on one inbox instead of a task per source)."""
            channel: str = await self._get_layer().new_channel_into(inbox)
            return channel

        async def delete_channel(self, channel: str) -> None:
            """Undo new_channel_into (the stock layer does this when a receive is cancelled)."""
            await self._get_layer().delete_channel(channel)

        def resync_local(self, groups: Iterable[str] | None) -> None:
            """See _LoopLayer.resync_local; for this event loop's layer (the socket's)."""
            layer = self._layers.get(asyncio.get_running_loop())
            if layer is not None:
                layer.resync_local(groups)

        def _get_layer(self) -> Any:
            loop = asyncio.get_running_loop()
            layer = self._layers.get(loop)
            if layer is None:
                layer = self._layers[loop] = _LoopLayer(
                    *self._args, **self._kwargs, channel_layer=self
                )
                _wrap_close(self, loop)
            return layer
