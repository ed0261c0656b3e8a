"""Fixtures for the attachment scenarios: files on a temporary MEDIA_ROOT, images with a GPS
position in their EXIF, a visitor with a chat, and uploads through the real API views."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from livechat import services as chat_services
from tests.helpers.attachments import upload


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


@dataclass
class Visitor:
    conversation_id: int
    token: str

    def client(self) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def upload(self, name: str, content: bytes):
        return upload(self.client(), "/api/v1/widget/uploads", name, content)


def new_visitor(name: str, email: str) -> Visitor:
    conversation, token = chat_services.start_session(name=name, email=email)
    return Visitor(conversation.pk, token)


@pytest.fixture
def visitor(db) -> Visitor:
    return new_visitor("Ben Best", "ben@shop.example")


@pytest.fixture
def other_visitor(db) -> Visitor:
    return new_visitor("Eve Other", "eve@shop.example")


@pytest.fixture
def live_server_env(live_server_env: dict[str, str], tmp_path) -> dict[str, str]:
    """The live daphne stores files where this test process reads them."""
    return {**live_server_env, "MEDIA_ROOT": str(tmp_path / "media")}


# --- sockets on a live daphne --------------------------------------------------------------------


def run_async(coroutine):
    """asyncio.run on a fresh thread (Playwright's sync API may hold a loop on the test thread)."""
    import asyncio
    import threading

    outcome: dict = {}

    def target() -> None:
        try:
            outcome["result"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised on the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


class Socket:
    """A chat socket that keeps every frame and waits for the one a test expects."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.frames: list[dict] = []

    @classmethod
    async def open(cls, url: str, *, origin: str, headers: dict | None = None) -> Socket:
        from websockets.asyncio.client import connect

        ws = await connect(url, additional_headers={"Origin": origin, **(headers or {})})
        socket = cls(ws)
        await socket.next(lambda f: f["type"] == "hello")
        return socket

    async def send(self, frame: dict) -> None:
        import json

        await self.ws.send(json.dumps(frame))

    async def next(self, predicate, timeout: float = 15.0) -> dict:
        import asyncio
        import json

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, frame in enumerate(self.frames):
                if predicate(frame):
                    return self.frames.pop(index)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no matching frame; got {self.frames}")
            raw = await asyncio.wait_for(self.ws.recv(), remaining)
            self.frames.append(json.loads(raw))

    async def close(self) -> None:
        await self.ws.close()
