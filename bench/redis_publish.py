"""CPU per PUBLISH: the channel layer's own connection (core/redis_publish.py) against redis-py's
asyncio client, the reference, in the same run on uvloop against a throwaway Redis.

Why it exists: core/redis_publish.py is hand-written code in place of a library, which this
project does only where a benchmark shows the gain. Every chat line is one PUBLISH.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvloop

from bench.common import _services, row
from core import redis_publish

PAYLOAD = b"x" * 300  # about a chat line's event, msgpack-encoded


async def _cpu_per_publish(publish: Any, count: int) -> float:
    for _ in range(300):  # warm-up
        await publish()
    started = time.process_time()
    for _ in range(count):
        await publish()
    return (time.process_time() - started) * 1e6 / count


async def _measure(port: int, count: int, rounds: int) -> tuple[list[float], list[float]]:
    client = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
    lean = redis_publish.for_host({"address": f"redis://127.0.0.1:{port}/0"})
    assert lean is not None

    async def with_redis_py() -> None:
        await client.publish("bench", PAYLOAD)

    async def with_ours() -> None:
        await lean.publish_many([("bench", PAYLOAD)])

    theirs, ours = [], []
    for _ in range(rounds):  # interleaved, so that a noisy moment hits both
        theirs.append(await _cpu_per_publish(with_redis_py, count))
        ours.append(await _cpu_per_publish(with_ours, count))
    lean.close()
    await client.aclose()
    return theirs, ours


def run(quick: bool) -> list[dict[str, Any]]:
    count, rounds = (2000, 3) if quick else (10000, 5)
    with tempfile.TemporaryDirectory() as root:
        server = _services.RedisServer(Path(root))
        server.start()
        try:
            theirs, ours = uvloop.run(_measure(server.port, count, rounds))
        finally:
            server.stop()
    # the median of the rounds
    reference, value = sorted(theirs)[rounds // 2], sorted(ours)[rounds // 2]
    return [
        row("PUBLISH, redis-py asyncio (reference)", {"median": reference}, unit="µs CPU"),
        row(
            "PUBLISH, core/redis_publish.py",
            {"median": value},
            unit="µs CPU",
            value=value,
            reference=reference,
            target="< 1x (hand-written only if faster)",
            met=value < reference,
        ),
    ]
