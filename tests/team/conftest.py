from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    """The test client speaks plain http; the production profile's https redirect is for real
    deployments (live servers get SECURE_SSL_REDIRECT=false from tests/conftest.py)."""
    settings.SECURE_SSL_REDIRECT = False
