"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key from the
environment, so a database dump alone never yields a mailbox password or an OAuth token.

`SUPPORTDESK_SECRETS_KEY`: any long random string (a Fernet key from
`Fernet.generate_key()` works too); several comma-separated keys rotate: the first encrypts, all
of them decrypt. The embedded profile derives a development key from SECRET_KEY when it is unset;
the production profile refuses to encrypt or decrypt without it (ImproperlyConfigured, at first
use, so installations without mailboxes need nothing new).
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["SecretError", "decrypt", "encrypt"]


class SecretError(ValueError):
    """A stored secret cannot be decrypted (tampered, or encrypted under another key)."""


def _fernet_key(material: str) -> bytes:
    """A Fernet key for `material`: itself when it is one, else derived with SHA-256."""
    raw = material.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32 and len(raw) == 44:
            return raw
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(b"supportdesk-secrets:" + raw).digest())


@functools.lru_cache(maxsize=4)
def _fernet_for(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k.strip())) for k in keys.split(",") if k.strip()])


def _fernet() -> MultiFernet:
    keys = getattr(settings, "SUPPORTDESK_SECRETS_KEY", "") or ""
    if not keys.strip():
        if not getattr(settings, "EMBEDDED", False):
            raise ImproperlyConfigured(
                "SUPPORTDESK_SECRETS_KEY must be set in the production profile (REDIS_URL set): "
                "it encrypts mailbox passwords and OAuth tokens at rest. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
        keys = "embedded-dev-secrets-key:" + settings.SECRET_KEY
    return _fernet_for(keys)


def encrypt(plaintext: str) -> str:
    """The token to store for `plaintext` ('' stays '': nothing to hide)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a stored token ('' for ''); SecretError when it cannot be read."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretError(
            "A stored secret cannot be decrypted: was SUPPORTDESK_SECRETS_KEY changed? "
            "Keep the old key after the new one (comma-separated) while rotating."
        ) from exc
