"""Fixtures for the volume tests: a listener on the real channel layer, logged-in clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections
from django.test import Client


def _closing(action: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        try:
            return action()
        finally:
            connections.close_all()  # this thread's connection, or the test database stays busy

    return run


def capture_events(
    groups: list[str], action: Callable[[], object], wait: float = 0.5
) -> list[dict]:
    """Run `action` (sync, in a thread) while subscribed to `groups` on the real channel layer;
    return the events published to them (read until `wait` seconds pass without one)."""
    import asyncio

    from asgiref.sync import sync_to_async

    async def run() -> list[dict]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        for group in groups:
            await layer.group_add(group, channel)
        try:
            await sync_to_async(_closing(action), thread_sensitive=False)()
            got = []
            while True:
                try:
                    got.append(await asyncio.wait_for(layer.receive(channel), wait))
                except TimeoutError:
                    return got
        finally:
            for group in groups:
                await layer.group_discard(group, channel)

    return async_to_sync(run)()


@pytest.fixture
def alice_client(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


@pytest.fixture
def token_client(cast):
    """A bearer-token client for any of the cast: token_client(cast.dave)."""
    from accounts.services import issue_api_token

    def make(user) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(user)}")

    return make


@pytest.fixture
def capture():
    """capture(["inbox"], action) -> the realtime events `action` published to those groups."""
    return capture_events


@pytest.fixture
def mail(settings, tmp_path):
    """mail(sender=..., subject=..., in_reply_to=...) -> the ingest result of that email,
    through the same pipeline as the signed webhook and the mailbox fetcher."""
    from email.message import EmailMessage
    from email.utils import make_msgid

    from tickets.inbound import ingest_raw_email

    settings.MEDIA_ROOT = tmp_path / "media"

    def send(
        *,
        sender: str = "Pat <pat@shop.example>",
        subject: str = "Where are my shoes?",
        body: str = "My order has not arrived.",
        in_reply_to: str = "",
        to: str = "support@support.example.com",
    ):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, to, subject
        msg["Message-ID"] = make_msgid(domain="shop.example")
        if in_reply_to:
            msg["In-Reply-To"] = msg["References"] = in_reply_to
        msg.set_content(body)
        return ingest_raw_email(msg.as_bytes(), source="test")

    return send
