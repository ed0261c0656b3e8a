"""Files in tests: a photo with a GPS position in its EXIF (as a phone takes it), and an upload
through the real API views."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from livechat import services as chat_services


def photo_with_location(*, size: tuple[int, int] = (800, 600), fmt: str = "JPEG") -> bytes:
    """A photo as a phone takes it: EXIF with the camera, the time and a GPS position."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0132] = "2026:11:30 18:04:00"  # DateTime
    exif[0x0112] = 6  # Orientation: rotated 90 degrees
    exif[0x8825] = {  # GPS IFD: 52.5200 N, 13.4050 E
        1: "N",
        2: (52.0, 31.0, 12.0),
        3: "E",
        4: (13.0, 24.0, 18.0),
    }
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def upload(client: Client, url: str, name: str, content: bytes, **headers: str):
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, **headers)


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
