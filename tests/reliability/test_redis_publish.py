"""The channel layer's own PUBLISH connection (core/redis_publish.py), against real Redis servers:
what it publishes arrives, it signs in when the URL has a password, it fails fast and clearly
when Redis is down, refuses, or does not answer, and it reconnects by itself afterwards."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path

import pytest
import redis
import uvloop

from core import redis_publish
from tests.helpers.servers import RedisServer, free_port


@pytest.fixture
def own_redis():
    with tempfile.TemporaryDirectory() as root:
        server = RedisServer(Path(root))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _subscriber(port: int, channel: str, **auth) -> redis.client.PubSub:
    pubsub = redis.Redis(port=port, **auth).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    return pubsub


def _received(pubsub: redis.client.PubSub, count: int) -> list[bytes]:
    got = []
    while len(got) < count:
        message = pubsub.get_message(timeout=5)
        assert message is not None, f"only {got} arrived"
        got.append(message["data"])
    return got


def test_messages_arrive_in_order_over_one_connection(own_redis):
    pubsub = _subscriber(own_redis.port, "chat")
    publisher = redis_publish.for_host({"address": f"redis://127.0.0.1:{own_redis.port}/0"})
    assert publisher is not None

    async def publish() -> None:
        await publisher.publish_many([("chat", b"one")])
        await publisher.publish_many([("chat", b"two"), ("elsewhere", b"x"), ("chat", b"\r\n3")])
        await asyncio.gather(*(publisher.publish_many([("chat", b"%d" % i)]) for i in range(50)))
        publisher.close()

    uvloop.run(publish())
    assert _received(pubsub, 53) == [b"one", b"two", b"\r\n3"] + [b"%d" % i for i in range(50)]


def test_a_password_in_the_url_signs_in_and_a_wrong_one_is_a_clear_error(own_redis):
    redis.Redis(port=own_redis.port).execute_command(
        "ACL", "SETUSER", "desk", "on", ">s3cret:pw", "~*", "&*", "+@all"
    )
    pubsub = _subscriber(own_redis.port, "chat", username="desk", password="s3cret:pw")
    good = redis_publish.for_host(
        {"address": f"redis://desk:s3cret%3Apw@127.0.0.1:{own_redis.port}"}
    )
    bad = redis_publish.for_host({"address": f"redis://desk:wrong@127.0.0.1:{own_redis.port}"})

    async def publish() -> str:
        await good.publish_many([("chat", b"signed in")])
        with pytest.raises(redis_publish.PublishError) as refused:
            await bad.publish_many([("chat", b"never")])
        good.close()
        return str(refused.value)

    assert "WRONGPASS" in uvloop.run(publish())
    assert _received(pubsub, 1) == [b"signed in"]


def test_redis_down_fails_each_publish_at_once_and_the_next_one_after_a_restart_gets_through(
    own_redis,
):
    publisher = redis_publish.for_host({"address": f"redis://127.0.0.1:{own_redis.port}"})

    async def publish_across_a_restart() -> list[str]:
        await publisher.publish_many([("chat", b"before")])
        own_redis.stop()
        errors = []
        for _ in range(2):
            with pytest.raises((redis_publish.PublishError, OSError)) as failed:
                await asyncio.wait_for(publisher.publish_many([("chat", b"lost")]), 10)
            errors.append(type(failed.value).__name__)
        own_redis.start()
        await publisher.publish_many([("chat", b"after")])
        publisher.close()
        return errors

    errors = uvloop.run(publish_across_a_restart())
    assert len(errors) == 2  # each failed on its own, neither hung


def test_a_redis_that_never_answers_fails_the_publish_after_the_reply_timeout(monkeypatch):
    monkeypatch.setattr(redis_publish, "REPLY_TIMEOUT", 0.3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen()
    port = silent.getsockname()[1]
    publisher = redis_publish.for_host({"address": f"redis://127.0.0.1:{port}"})

    async def publish() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(redis_publish.PublishError, match="did not answer"):
            await asyncio.wait_for(publisher.publish_many([("chat", b"hello?")]), 10)
        return loop.time() - started

    try:
        waited = uvloop.run(publish())
    finally:
        silent.close()
    assert 0.3 <= waited < 2


@pytest.mark.parametrize(
    "host",
    [
        {"address": "rediss://127.0.0.1:6380"},
        {"address": "unix:///run/redis.sock"},
        {"address": "redis://127.0.0.1:6379", "ssl_cert_reqs": None},
        {"host": "127.0.0.1", "port": 6379},
        {"address": "redis://127.0.0.1:6379/0?socket_timeout=5"},
    ],
)
def test_anything_but_a_plain_redis_url_keeps_redis_py(host):
    assert redis_publish.for_host(host) is None
