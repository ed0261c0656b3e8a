"""The chat over real sockets: a small websocket client that collects frames and waits for
matches, the widget's session, and the visitor and agent sockets opened as the widget and the
console open them."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Callable, Coroutine
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

Frame = dict[str, Any]


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run on a fresh thread: Playwright's sync API may hold a loop on the test thread."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = asyncio.run(coroutine)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


class ChatClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []

    @classmethod
    async def open(
        cls, url: str, *, origin: str, headers: dict[str, str] | None = None
    ) -> ChatClient:
        ws = await connect(
            url, additional_headers={"Origin": origin, **(headers or {})}, open_timeout=10
        )
        return cls(ws)

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(self, predicate: Callable[[Frame], bool], timeout: float = 10.0) -> Frame:
        """The first frame (not returned before) that matches, waiting up to `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, frame in enumerate(self.frames):
                if predicate(frame):
                    return self.frames.pop(index)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames}")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError:
                continue
            self.frames.append(json.loads(raw))

    async def drain(self, seconds: float = 0.3) -> list[Frame]:
        try:
            while True:
                raw = await asyncio.wait_for(self.ws.recv(), seconds)
                self.frames.append(json.loads(raw))
        except TimeoutError:
            pass
        return self.frames

    async def messages_until(self, conversation_id: int, last_seq: int) -> dict[int, Frame]:
        """Message frames of a conversation by seq, until `last_seq` has arrived."""
        got: dict[int, Frame] = {}
        while last_seq not in got:
            frame = await self.next(
                lambda f: f["type"] == "message" and f["conversation_id"] == conversation_id
            )
            assert frame["seq"] not in got or got[frame["seq"]] == frame
            got[frame["seq"]] = frame
        return got

    async def close(self) -> None:
        await self.ws.close()


def post_json(url: str, payload: Frame, headers: dict[str, str] | None = None) -> tuple[int, Frame]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def widget_session(server: Any, name: str = "Ben", email: str = "ben@shop.example") -> Frame:
    """A widget session (a new waiting chat) as the widget on the demo shop starts one."""
    status, body = post_json(
        f"{server.url}/api/v1/widget/sessions",
        {"name": name, "email": email, "page_url": f"{server.url}/demo/shop/"},
    )
    assert status == 201, body
    return body


def visitor_url(server: Any, token: str) -> str:
    return f"{server.ws_url}/ws/chat/?token={token}"


async def visitor_socket(server: Any, token: str) -> ChatClient:
    """The visitor's socket, past its `hello`."""
    client = await ChatClient.open(visitor_url(server, token), origin=server.url)
    await client.next(lambda f: f["type"] == "hello")
    return client


async def agent_socket(server: Any, token: str) -> ChatClient:
    """An agent's console socket (API token auth), past its `hello`."""
    client = await ChatClient.open(
        f"{server.ws_url}/ws/agent/",
        origin=server.url,
        headers={"Authorization": f"Bearer {token}"},
    )
    await client.next(lambda f: f["type"] == "hello")
    return client
