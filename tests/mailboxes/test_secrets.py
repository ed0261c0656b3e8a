"""core.secrets: Fernet under SUPPORTDESK_SECRETS_KEY; a clear error in production without it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.secrets import SecretError, decrypt, encrypt


def test_round_trip_and_tokens_differ_each_time(settings) -> None:
    settings.SUPPORTDESK_SECRETS_KEY = "a-long-random-key"
    first, second = encrypt("hunter2"), encrypt("hunter2")
    assert first != second and "hunter2" not in first
    assert decrypt(first) == decrypt(second) == "hunter2"
    assert encrypt("") == "" and decrypt("") == ""


def test_rotation_keeps_old_tokens_readable(settings) -> None:
    settings.SUPPORTDESK_SECRETS_KEY = "old-key"
    token = encrypt("pw")
    settings.SUPPORTDESK_SECRETS_KEY = "new-key,old-key"
    assert decrypt(token) == "pw"
    settings.SUPPORTDESK_SECRETS_KEY = "new-key"
    with pytest.raises(SecretError, match="SUPPORTDESK_SECRETS_KEY"):
        decrypt(token)


def test_production_without_a_key_is_a_clear_error(settings) -> None:
    settings.SUPPORTDESK_SECRETS_KEY = ""
    settings.EMBEDDED = False
    with pytest.raises(ImproperlyConfigured, match="SUPPORTDESK_SECRETS_KEY must be set"):
        encrypt("pw")


def test_embedded_profile_derives_a_dev_key(settings) -> None:
    settings.SUPPORTDESK_SECRETS_KEY = ""
    settings.EMBEDDED = True
    assert decrypt(encrypt("pw")) == "pw"
