"""Password guessing on one account, from any number of addresses, meets a challenge instead of a
lockout (finding 7 of issue 14): past `login-user` failures in the window, a correct password
alone no longer signs the person in. People with a second factor are asked for it as always; the
others sign in with a one-time code emailed to them (allauth's login by code). The owner is never
locked out, and the guesser gains nothing from guessing right. Per address, `login-ip` still
answers 429 (core.ratelimit), since the owner's address is not the guesser's."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from core.ratelimit import limit_for

SCOPE = "login-user"


def _key(account: str) -> tuple[str, int]:
    _, per = limit_for(SCOPE)
    window = int(time.time() // per)
    digest = hashlib.sha256(account.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"rl:{SCOPE}:fail:{digest}:{window}", per


def failures(account: str) -> int:
    if not account:
        return 0
    key, _ = _key(account)
    return int(cache.get(key) or 0)


def record_failure(account: str) -> None:
    if not account:
        return
    key, per = _key(account)
    cache.add(key, 0, per + 1)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, per + 1)


def under_attack(account: str) -> bool:
    """True when this account has had more failed passwords in the window than `login-user`
    allows: from now until the window ends, a password alone is not enough."""
    if not settings.SUPPORTDESK_RATELIMIT_ENABLED:
        return False
    limit, _ = limit_for(SCOPE)
    return failures(account) >= limit
