"""The one realtime choke point: services publish events here, only after their transaction commits.

A channel layer is a delivery hint, never the record (TRAPS.md): clients that miss an event resync
from the database, so a publish that fails is logged, not raised into the request that caused it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def group_send(group: str, event: Mapping[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, dict(event))
    except Exception:
        log.warning("Could not publish %s to %s", event.get("type"), group, exc_info=True)


async def agroup_send(group: str, event: Mapping[str, Any]) -> None:
    """`group_send` from async code (a socket's event loop), for a record already committed."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, dict(event))
    except Exception:
        log.warning("Could not publish %s to %s", event.get("type"), group, exc_info=True)


def send_event_on_commit(group: str, event: Mapping[str, Any]) -> None:
    """Publish `event` to `group` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: group_send(group, event))


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


# The production channel layer: channels_redis' pub/sub layer with two hot-path fixes.
# - Its shard holds one asyncio.Lock around every PUBLISH and SUBSCRIBE of the process, so each
#   chat line waited for every other socket's publish round-trip (and for the SUBSCRIBEs of a
#   connect storm). Publishing needs no lock: it runs on the connection pool, bounded by a
#   semaphore so a burst cannot exceed redis-py's pool cap (TRAPS.md: MaxConnectionsError).
# - It decoded a group message once per member socket; here it is decoded once per process and
#   the same dict goes to every member (consumers treat events as read-only).
PUBLISH_CONCURRENCY = 16

try:
    from channels_redis.pubsub import (
        RedisPubSubChannelLayer,
        RedisPubSubLoopLayer,
        RedisSingleShardConnection,
    )
    from channels_redis.utils import _wrap_close, decode_hosts
except ImportError:  # pragma: no cover - the embedded profile has no Redis layer
    RedisPubSubChannelLayer = None  # type: ignore[assignment,misc]

if RedisPubSubChannelLayer is not None:

    class _Shard(RedisSingleShardConnection):  # type: ignore[misc]
        def __init__(self, host: Any, channel_layer: Any) -> None:
            super().__init__(host, channel_layer)
            self._publishing = asyncio.Semaphore(PUBLISH_CONCURRENCY)

        async def publish(self, channel: str, message: bytes) -> None:
            async with self._publishing:
                self._ensure_redis()
                await self._redis.publish(channel, message)

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

    class _LoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]
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

    class PubSubLayer(RedisPubSubChannelLayer):  # type: ignore[misc]
        """CHANNEL_LAYERS backend in the production profile (see the comment above)."""

        def deserialize(self, message: Any) -> Any:
            # Queued events are already decoded by _Shard._receive_message.
            return message if isinstance(message, dict) else super().deserialize(message)

        async def new_channel_into(self, inbox: Mailbox) -> str:
            """A new channel whose messages go into `inbox`, which may also hold other input: the
            socket's own (ChatSocket.__call__ waits on one inbox instead of a task per source)."""
            return await self._get_layer().new_channel_into(inbox)

        async def delete_channel(self, channel: str) -> None:
            """Undo new_channel_into (the stock layer does this when a receive is cancelled)."""
            await self._get_layer().delete_channel(channel)

        def _get_layer(self) -> Any:
            loop = asyncio.get_running_loop()
            layer = self._layers.get(loop)
            if layer is None:
                layer = self._layers[loop] = _LoopLayer(
                    *self._args, **self._kwargs, channel_layer=self
                )
                _wrap_close(self, loop)
            return layer
