"""Fixtures for the attachment scenarios: files on a temporary MEDIA_ROOT, images with a GPS
position in their EXIF, a visitor with a chat, and uploads through the real API views."""

from __future__ import annotations

import pytest

from tests.helpers.attachments import Visitor, new_visitor


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"


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
