"""Instant cut-off: deactivating a person, changing a password or revoking a token ends what the
old credentials opened, at once and on every daphne process.

- Sessions: the person's session rows are deleted, and their copies in the session cache
  (production's `cached_db` engine) dropped (and Django refuses an inactive user anyway).
- API tokens: `user_for_token` only resolves tokens of active users, so they answer 401.
- Sockets: every agent socket (/ws/agent/, /ws/inbox/, /ws/tickets/N/) joins the group
  `user-<id>` when it connects; a `user.revoked` event on that group, sent through the channel
  layer after commit, closes the sockets it names (all of them, those of one token, or all but
  the session that made the change) with code 4401 on whichever process holds them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User, hash_token
from audit.context import current as audit_context
from audit.services import record
from core.realtime import send_event_on_commit

log = logging.getLogger(__name__)

CLOSE_REVOKED = 4401
SESSION_USER_KEY = "_auth_user_id"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def revoked_event(*, reason: str, token_id: int | None = None, keep_session: str = "") -> dict:
    return {
        "type": "user.revoked",
        "reason": reason,
        "token_id": token_id,
        "keep_session": keep_session,
    }


def should_close(event: dict[str, Any], *, session_key: str, token_id: int | None) -> bool:
    """Whether a socket opened with `session_key` or `token_id` is named by a revocation."""
    if event.get("token_id") is not None:
        return token_id is not None and token_id == event["token_id"]
    keep = event.get("keep_session") or ""
    return not (keep and session_key and keep == session_key)


def close_sockets(
    user_id: int, *, reason: str, token_id: int | None = None, keep_session: str = ""
) -> None:
    """After commit, close the person's agent sockets (see the module docstring)."""
    send_event_on_commit(
        user_group(user_id),
        revoked_event(reason=reason, token_id=token_id, keep_session=keep_session),
    )


def end_sessions(user: User, *, keep_session_key: str = "") -> int:
    """Delete every live session of `user` but `keep_session_key`; returns how many.

    Sessions are signed blobs keyed by a random id, so they are read in batches; this runs on
    deactivation and password changes only, never on a request's hot path."""
    ended: list[str] = []
    live = Session.objects.filter(expire_date__gt=timezone.now()).only(
        "session_key", "session_data"
    )
    for session in live.iterator(chunk_size=500):
        if session.session_key == keep_session_key:
            continue
        try:
            data = session.get_decoded()
        except Exception:  # a session signed with an older key decodes to {} or fails
            log.debug("Skipping an undecodable session", exc_info=True)
            continue
        if str(data.get(SESSION_USER_KEY, "")) == str(user.pk):
            ended.append(session.session_key)
    if ended:
        Session.objects.filter(session_key__in=ended).delete()
        _drop_cached(ended)
        # Again after commit: a request that missed the cache meanwhile read the row (not yet
        # deleted for it) and cached it again.
        transaction.on_commit(lambda: _drop_cached(ended))
    return len(ended)


def _drop_cached(session_keys: list[str]) -> None:
    """Forget the cached copies of sessions (`cached_db` reads the cache before the rows)."""
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db":
        caches[settings.SESSION_CACHE_ALIAS].delete_many(
            [cached_db.KEY_PREFIX + key for key in session_keys]
        )


def deactivate_agent(user: User, *, by: User | None = None) -> User:
    """Cut a person off now: inactive, sessions ended, tokens answer 401, sockets closed. Their
    grants stay as they are: pending ones remain visible and undoable by anyone else."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        was_active = locked.is_active
        if was_active:
            locked.is_active = False
            locked.save(update_fields=["is_active"])
        ended = end_sessions(locked)
        record(
            "user.deactivated",
            obj=locked,
            object_type="user",
            actor=by,
            changes={"is_active": (was_active, False)},
            detail={"sessions_ended": ended},
        )
        close_sockets(locked.pk, reason="deactivated")
    user.is_active = False
    return locked


def reactivate_agent(user: User, *, by: User | None = None) -> User:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        record(
            "user.reactivated",
            obj=user,
            object_type="user",
            actor=by,
            changes={"is_active": (False, True)},
        )
    user.is_active = True
    return user


def token_id_for(raw: str) -> int | None:
    """The id of the live API token `raw`, so a socket can be closed when that token is revoked."""
    if not raw or len(raw) > 200:
        return None
    return (
        ApiToken.objects.filter(digest=hash_token(raw), revoked_at__isnull=True)
        .values_list("id", flat=True)
        .first()
    )


def token_revoked(token: ApiToken) -> None:
    """Close the sockets that were opened with `token` (call in the revoking transaction)."""
    close_sockets(token.user_id, reason="token_revoked", token_id=token.pk)


def revoke_token(token: ApiToken, *, by: User | None = None) -> ApiToken:
    """Revoke an API token: it answers 401 from now on and its open sockets close."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if changed:
            record("token.revoked", obj=token, actor=by, detail={"prefix": token.prefix})
            token_revoked(token)
    return token


def password_changed(user: User) -> None:
    """The person's password changed: every other session and socket ends, and their API tokens
    are revoked (whoever knew the old password may have made them). The session that made the
    change, if any, stays."""
    context = audit_context()
    request = context.request if context is not None else None
    session = getattr(request, "session", None)
    keep = (session.session_key or "") if session is not None else ""
    if request is not None and getattr(request.user, "pk", None) != user.pk:
        keep = ""  # an admin set someone else's password: none of that person's sessions stays
    ended = end_sessions(user, keep_session_key=keep)
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    record(
        "user.password_changed",
        obj=user,
        object_type="user",
        detail={"sessions_ended": ended, "tokens_revoked": revoked},
    )
    close_sockets(user.pk, reason="password_changed", keep_session=keep)


def watch_password_changes(sender: Any, instance: User, **kwargs: Any) -> None:
    """pre_save of User: a changed password hash triggers `password_changed` after commit."""
    if instance.pk is None or instance._state.adding:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "password" not in update_fields:
        return
    old = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if old is not None and old != instance.password:
        user_id = instance.pk
        transaction.on_commit(lambda: _after_password_change(user_id), robust=True)


def _after_password_change(user_id: int) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        with transaction.atomic():
            password_changed(user)


class RevocableSocket:
    """Mixin for agent sockets (Channels consumers): call `watch_revocation(user, token_id=...)`
    once authenticated and `stop_watching_revocation()` on disconnect; a `user.revoked` event
    naming this socket sends an `error` frame with code `revoked` and closes it with 4401."""

    cutoff_group = ""
    cutoff_session = ""
    cutoff_token_id: int | None = None
    # What the Channels consumer this is mixed into provides.
    scope: Any
    channel_layer: Any
    channel_name: str
    send: Any
    close: Any

    async def watch_revocation(self, user: Any, *, token_id: int | None = None) -> None:
        session = self.scope.get("session")
        self.cutoff_session = (
            (getattr(session, "session_key", "") or "") if token_id is None else ""
        )
        self.cutoff_token_id = token_id
        self.cutoff_group = user_group(user.pk)
        await self.channel_layer.group_add(self.cutoff_group, self.channel_name)

    async def stop_watching_revocation(self) -> None:
        if self.cutoff_group:
            try:
                await self.channel_layer.group_discard(self.cutoff_group, self.channel_name)
            except Exception:
                log.info("Could not leave %s", self.cutoff_group, exc_info=True)
            self.cutoff_group = ""

    async def user_revoked(self, event: dict[str, Any]) -> None:
        if not should_close(event, session_key=self.cutoff_session, token_id=self.cutoff_token_id):
            return
        import json

        frame = {"type": "error", "code": "revoked", "detail": f"Signed out: {event.get('reason')}"}
        await self.send(text_data=json.dumps(frame))
        await self.close(code=CLOSE_REVOKED)
