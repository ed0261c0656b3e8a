"""`GET /healthz`: database, channel layer and broker, each checked for real."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from core import fds


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return  # Embedded: tasks run in-process, there is no broker to reach.
    import redis

    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    finally:
        client.close()


async def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # A round trip through the layer proves it delivers, not only that a socket opens.
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping", "nonce": uuid.uuid4().hex})
    await asyncio.wait_for(layer.receive(channel), timeout=2)


async def _timed(check: Callable[[], Any]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        if asyncio.iscoroutinefunction(check):
            await asyncio.wait_for(check(), timeout=3)
        else:
            await asyncio.wait_for(sync_to_async(check, thread_sensitive=False)(), timeout=3)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": await _timed(_check_database),
        "channel_layer": await _timed(_check_channel_layer),
        "broker": await _timed(_check_broker),
    }
    # Descriptors left in this process: at 0 every login, mail and socket fails (core/fds.py).
    checks["file_descriptors"] = fds.report()
    healthy = all(c["ok"] for c in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "profile": settings.PROFILE,
        "checks": checks,
    }
    return JsonResponse(body, status=200 if healthy else 503)
