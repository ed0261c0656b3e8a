"""Fixtures for the attachment scenarios: files on a temporary MEDIA_ROOT, images with a GPS
position in their EXIF, a visitor with a chat, and uploads through the real API views."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from livechat import services as chat_services


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


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
