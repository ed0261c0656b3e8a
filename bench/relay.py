"""The reference relay for the chat benchmark: the `websockets` library and Redis pub/sub, nothing else.

    python -m bench.relay --port 8765 --redis redis://127.0.0.1:6379/0

A socket connects to `/ws?conv=<id>`; every text frame it sends is published to the Redis
channel `conv-<id>`, and every message on that channel (one pattern subscription per process) is broadcast to the sockets of that
conversation in this process (sender included, as Supportdesk echoes a message to its author).
No database, no framework: the floor a chat server on this machine could reach.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from urllib.parse import parse_qs, urlparse

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: dict[str, set[ServerConnection]] = {}


async def main(port: int, redis_url: str) -> None:
    publisher = aioredis.from_url(redis_url)
    subscriber = aioredis.from_url(redis_url)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    # One pattern subscription for every conversation channel, made before any socket connects,
    # so no socket can miss a message published while its own SUBSCRIBE was still in flight.
    await pubsub.psubscribe("conv-*")

    async def pump() -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            room = rooms.get(message["channel"].decode())
            if room:
                broadcast(room, message["data"].decode())

    async def handler(ws: ServerConnection) -> None:
        query = parse_qs(urlparse(ws.request.path).query)  # type: ignore[union-attr]
        channel = f"conv-{(query.get('conv') or ['0'])[0]}"
        room = rooms.setdefault(channel, set())
        room.add(ws)
        try:
            async for raw in ws:
                await publisher.publish(channel, raw)
        finally:
            room.discard(ws)
            if not room:
                rooms.pop(channel, None)

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    pumping = asyncio.create_task(pump())
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
        await stop
    pumping.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.redis))
