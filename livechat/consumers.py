"""Chat sockets: thin consumers that parse frames, call livechat.services, and forward frames.

Visitor socket `/ws/chat/?token=...`: a forged, malformed or expired token is accepted and then
closed with code 4401 (after an `error` frame with code "bad_token"), so browsers and clients can
tell an auth failure from a network drop. Agent socket `/ws/agent/`: the session cookie or an
`Authorization: Bearer` header; without either it closes with 4401 the same way.

Nothing is acknowledged before it is committed: `ack` is sent after `apost_message` returns, and
it fans out only after commit. A client that sees a gap in `seq` sends `resume`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from accounts.cutoff import RevocableSocket, token_id_for
from accounts.services import user_for_token
from core import fds
from core.realtime import Mailbox, asend_event
from core.security import parse_json
from livechat import events, services
from livechat.models import ChatAuthorType, Conversation, ConversationStatus

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
CLOSE_TOO_MANY = 4429
CLOSE_UNAUTHORIZED = 4401
TOKEN_RENEW_SECONDS = 3600
# One encoder for every frame: json.dumps with non-default separators builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


class TokenBucket:
    """Per-socket flood control: `capacity` frames at once, refilled at `rate` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")  # two per socket, thousands of sockets

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


class ChatSocket(AsyncWebsocketConsumer):
    """Frame parsing, limits and group forwarding shared by the visitor and agent sockets."""

    groups_joined: set[str]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Channels waits on the socket's input and its channel-layer channel with a task for each
        # plus asyncio.wait's futures: three tasks per idle socket. Under supportdesk.server the
        # socket's input is a Mailbox, and the layer can deliver the channel's events into that
        # same Mailbox, so the socket needs no task but its own. Each source keeps its order and
        # handlers still run one at a time. Anything else (the embedded in-memory layer, plain
        # daphne) takes Channels' way.
        inbox = getattr(receive, "__self__", None)
        layer: Any = get_channel_layer(
            self.channel_layer_alias
        )  # core.realtime's, when it has new_channel_into
        if not isinstance(inbox, Mailbox) or not hasattr(layer, "new_channel_into"):
            return await super().__call__(scope, receive, send)
        self.scope = scope
        self.channel_layer = layer
        self.base_send = send
        self.channel_name = await layer.new_channel_into(inbox)
        try:
            while True:
                await self.dispatch(await inbox.get())
        except StopConsumer:
            pass
        finally:
            try:
                await layer.delete_channel(self.channel_name)
            except Exception:
                log.info("Could not unsubscribe %s", self.channel_name, exc_info=True)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels (4.2+) runs close_old_connections on the shared ORM thread before *every*
        # handler, so each frame and each fan-out event of every socket queued behind all the
        # process's database work (the chat benchmark's p50 went from ~10 ms to seconds). Our ORM
        # calls go through database_sync_to_async, which already closes old connections around
        # each call, and the hot path uses its own pool; so handlers are called directly.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=_encode(frame))

    async def send_error(self, code: str, detail: str, **extra: Any) -> None:
        await self.send_json(dict(events.error_frame(code, detail, **extra)))

    async def refuse(self, detail: str) -> None:
        await self.accept()
        await self.send_error("bad_token", detail)
        await self.close(code=CLOSE_UNAUTHORIZED)

    def setup_limits(self) -> None:
        self.groups_joined = set()
        self.message_bucket = TokenBucket(10, 5)  # 10 messages per 2 s
        self.frame_bucket = TokenBucket(40, 20)  # typing, read, resume...
        self.limited = settings.SUPPORTDESK_RATELIMIT_ENABLED

    async def join_group(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def leave_groups(self) -> None:
        for group in list(getattr(self, "groups_joined", ())):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                # A layer outage must not block the disconnect; memberships expire on their own.
                log.info("Could not leave %s", group, exc_info=True)
        self.groups_joined = set()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not hasattr(self, "groups_joined"):
            return  # refused socket still draining
        if bytes_data is not None:
            await self.send_error("invalid", "Frames are JSON text")
            return
        raw = text_data or ""
        if len(raw) > MAX_FRAME_BYTES or len(raw.encode()) > MAX_FRAME_BYTES:
            await self.send_error("too_large", f"A frame is at most {MAX_FRAME_BYTES} bytes")
            return
        try:
            frame = parse_json(raw)
        except ValueError as error:
            # Invalid, 30,000-deep or lone-surrogate JSON: an error frame, and the socket lives.
            await self.send_error("invalid_json", f"The frame is not usable JSON: {error}"[:200])
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("invalid", 'A frame is an object with a "type"')
            return
        kind = frame["type"]
        bucket = self.message_bucket if kind == "message" else self.frame_bucket
        if self.limited and not bucket.take():
            await self.send_error(
                "rate_limited", "Too many frames; slow down", client_id=frame.get("client_id")
            )
            return
        handler = getattr(self, f"on_{kind}", None)
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type {kind!r}")
            return
        await handler(frame)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json(dict(events.pong_frame()))

    async def replay(self, conversation_id: int, after_seq: int) -> None:
        """Send every message with seq > after_seq from the database, a bounded batch at a time."""
        while True:
            batch = await database_sync_to_async(services.messages_after)(
                conversation_id, after_seq=after_seq
            )
            for message in batch:
                await self.send_json(dict(events.message_frame(message)))
            if len(batch) < services.REPLAY_BATCH:
                return
            after_seq = batch[-1].seq

    async def post(
        self,
        conversation_id: int,
        frame: dict[str, Any],
        *,
        author_type: str,
        author_user: Any = None,
        first_line: bool = False,
    ) -> bool:
        client_id = frame.get("client_id")
        body = frame.get("body")
        if not isinstance(client_id, str) or not client_id or not isinstance(body, str):
            await self.send_error("invalid", "A message needs a client_id and a body")
            return False
        try:
            message, _ = await services.apost_message(
                conversation_id,
                author_type=author_type,
                body=body,
                client_id=client_id,
                author_user=author_user,
                attachment_ids=frame.get("attachment_ids") or [],
                first_line=first_line,
            )
        except services.ChatError as error:
            await self.send_error(error.code, str(error), client_id=client_id)
            return False
        await self.send_json(dict(events.ack_frame(message)))
        return True

    async def chat_frame(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        if "sender" in frame:  # typing and read signals name the socket they came from
            if frame["sender"] == self.channel_name:
                return  # our own
            frame = {k: v for k, v in frame.items() if k != "sender"}
        await self.send_json(frame)

    async def broadcast(self, group: str, frame: Any) -> None:
        # Ephemeral signals (typing, read) are not records, so they go straight to the layer.
        await asend_event(group, events.group_event({**frame, "sender": self.channel_name}))

    def followed(self) -> set[int]:
        """The conversations whose lines this socket shows."""
        raise NotImplementedError

    async def realtime_resync(self, event: dict[str, Any]) -> None:
        """The channel layer may have lost events (core.realtime): tell the client each followed
        conversation's last seq; one that has less answers with `resume`."""
        followed = self.followed()
        if not followed:
            return
        last = await services.alast_seqs(sorted(followed))
        for conversation_id, last_seq in sorted(last.items()):
            await self.send_json(dict(events.sync_frame(conversation_id, last_seq)))


class VisitorConsumer(ChatSocket):
    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        token = (query.get("token") or [""])[0]
        identity = services.read_visitor_token(token)
        conversation = (
            await database_sync_to_async(services.conversation_for_identity)(identity)
            if identity is not None
            else None
        )
        if conversation is None:
            await self.refuse("The visitor token is invalid or expired")
            return
        # Caps per visitor, per address and per process (core/fds.py): one token must not take
        # every descriptor the agents, logins and inbound mail need.
        client = self.scope.get("client") or ("", 0)
        self.address = str(client[0] or "")
        refused = fds.admit_visitor(conversation.pk, self.address)
        if refused:
            await self.accept()
            await self.send_error(refused, "Too many open chat windows; close some and retry")
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.admitted = True
        self.setup_limits()
        self.conversation_id = conversation.pk
        self.visitor_name = conversation.visitor_display_name
        # The visitor's first line starts the chat (webhook event, routing): it takes the ORM
        # path, whose transaction carries the event; later lines take the pool.
        self.visitor_wrote = conversation.last_seq > 0 and await database_sync_to_async(
            services.visitor_has_written
        )(conversation.pk)
        self.group = events.chat_group(conversation.pk)
        await self.join_group(self.group)
        await self.accept()
        agents_online = await database_sync_to_async(services.agents_available)()
        await self.send_json(
            dict(events.visitor_hello_frame(conversation, agents_online=agents_online))
        )
        await self.send_token(conversation)

    def followed(self) -> set[int]:
        return {self.conversation_id}

    async def send_token(self, conversation: Conversation) -> None:
        self.token_sent = time.monotonic()
        await self.send_json(dict(events.token_frame(services.issue_visitor_token(conversation))))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "admitted", False):
            self.admitted = False
            fds.release_visitor(self.conversation_id, self.address)
        await self.leave_groups()

    async def on_message(self, frame: dict[str, Any]) -> None:
        first = not self.visitor_wrote
        posted = await self.post(
            self.conversation_id, frame, author_type=ChatAuthorType.VISITOR, first_line=first
        )
        self.visitor_wrote = self.visitor_wrote or posted
        if posted and time.monotonic() - self.token_sent > TOKEN_RENEW_SECONDS:
            # The visitor is active: keep their token from expiring under them.
            conversation = await database_sync_to_async(Conversation.objects.get)(
                pk=self.conversation_id
            )
            await self.send_token(conversation)

    async def on_typing(self, frame: dict[str, Any]) -> None:
        await self.broadcast(
            self.group,
            events.typing_frame(
                self.conversation_id,
                author_type=ChatAuthorType.VISITOR.value,
                name=self.visitor_name,
            ),
        )

    async def on_read(self, frame: dict[str, Any]) -> None:
        seq = _int(frame.get("seq"))
        if seq is None:
            await self.send_error("invalid", "read needs a seq")
            return
        await self.broadcast(
            self.group,
            events.read_frame(
                self.conversation_id,
                seq,
                author_type=ChatAuthorType.VISITOR.value,
                name=self.visitor_name,
            ),
        )

    async def on_resume(self, frame: dict[str, Any]) -> None:
        after_seq = _int(frame.get("after_seq"))
        if after_seq is None or after_seq < 0:
            await self.send_error("invalid", "resume needs after_seq >= 0")
            return
        await self.replay(self.conversation_id, after_seq)

    async def on_end(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(services.end_conversation)(self.conversation_id)


class AgentConsumer(RevocableSocket, ChatSocket):
    async def connect(self) -> None:
        user = self.scope.get("user")
        token_id = None
        if user is None or not user.is_authenticated or not user.is_active:
            raw = self._bearer()
            user = await database_sync_to_async(user_for_token)(raw, scope="write")
            if user is not None:
                token_id = await database_sync_to_async(token_id_for)(raw)
        if user is None:
            await self.refuse("Log in or send Authorization: Bearer <token>")
            return
        self.user = user
        # Deactivation, a password change or revoking this token closes the socket at once.
        await self.watch_revocation(user, token_id=token_id)
        self.setup_limits()
        self.joined: set[int] = set()
        self.watching: set[int] = set()
        await self.join_group(events.QUEUE_GROUP)
        await self.accept()
        await database_sync_to_async(services.agent_connected)(user)
        queue = await database_sync_to_async(_waiting_summaries)()
        await self.send_json(dict(events.agent_hello_frame(user, queue)))

    def followed(self) -> set[int]:
        return self.joined | self.watching

    def _bearer(self) -> str:
        for name, value in self.scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode(errors="replace").partition(" ")
                if scheme.lower() == "bearer":
                    return token.strip()
        return ""

    async def disconnect(self, code: int) -> None:
        await self.stop_watching_revocation()
        if hasattr(self, "user"):
            await database_sync_to_async(services.agent_disconnected)(self.user)
        await self.leave_groups()

    def _conversation_id(self, frame: dict[str, Any]) -> int | None:
        return _int(frame.get("conversation_id"))

    async def _open(self, frame: dict[str, Any], *, take: bool) -> int | None:
        conversation_id = self._conversation_id(frame)
        if conversation_id is None:
            await self.send_error("invalid", "conversation_id is required")
            return None
        try:
            if take:
                await database_sync_to_async(services.join_conversation)(
                    conversation_id, agent=self.user
                )
            else:
                await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
        except Conversation.DoesNotExist:
            await self.send_error("not_found", "No such conversation")
            return None
        await self.join_group(events.chat_group(conversation_id))
        after_seq = _int(frame.get("after_seq")) or 0
        await self.replay(conversation_id, max(after_seq, 0))
        return conversation_id

    async def on_join(self, frame: dict[str, Any]) -> None:
        # `"take": false` re-subscribes (e.g. after a reconnect) without taking the chat over.
        conversation_id = await self._open(frame, take=frame.get("take") is not False)
        if conversation_id is not None:
            self.joined.add(conversation_id)
            self.watching.discard(conversation_id)

    async def on_watch(self, frame: dict[str, Any]) -> None:
        """Shadow mode: see the chat live, read-only."""
        conversation_id = await self._open(frame, take=False)
        if conversation_id is not None and conversation_id not in self.joined:
            self.watching.add(conversation_id)

    async def on_leave(self, frame: dict[str, Any]) -> None:
        conversation_id = self._conversation_id(frame)
        if conversation_id is None:
            return
        self.joined.discard(conversation_id)
        self.watching.discard(conversation_id)
        group = events.chat_group(conversation_id)
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)

    async def _joined(self, frame: dict[str, Any]) -> int | None:
        conversation_id = self._conversation_id(frame)
        if conversation_id is None or conversation_id not in self.joined:
            await self.send_error(
                "not_joined", "Join the conversation first", client_id=frame.get("client_id")
            )
            return None
        return conversation_id

    async def on_message(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._joined(frame)
        if conversation_id is not None:
            await self.post(
                conversation_id, frame, author_type=ChatAuthorType.AGENT, author_user=self.user
            )

    async def on_typing(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._joined(frame)
        if conversation_id is not None:
            await self.broadcast(
                events.chat_group(conversation_id),
                events.typing_frame(
                    conversation_id,
                    author_type=ChatAuthorType.AGENT.value,
                    name=self.user.display_name,
                ),
            )

    async def on_read(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._joined(frame)
        seq = _int(frame.get("seq"))
        if conversation_id is not None and seq is not None:
            await self.broadcast(
                events.chat_group(conversation_id),
                events.read_frame(
                    conversation_id,
                    seq,
                    author_type=ChatAuthorType.AGENT.value,
                    name=self.user.display_name,
                ),
            )

    async def on_resume(self, frame: dict[str, Any]) -> None:
        conversation_id = self._conversation_id(frame)
        after_seq = _int(frame.get("after_seq"))
        if conversation_id is None or after_seq is None or after_seq < 0:
            await self.send_error("invalid", "resume needs conversation_id and after_seq >= 0")
            return
        if conversation_id not in self.joined | self.watching:
            await self.send_error("not_joined", "Join or watch the conversation first")
            return
        await self.replay(conversation_id, after_seq)

    async def on_transfer(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._joined(frame)
        to_id = _int(frame.get("to_user_id"))
        team_id = _int(frame.get("to_team_id"))
        if conversation_id is None or (to_id is None and team_id is None):
            return
        try:
            if team_id is not None:
                await database_sync_to_async(_transfer_to_team)(conversation_id, team_id, self.user)
                return
            assert to_id is not None  # a team or a person, checked above
            await database_sync_to_async(_transfer)(conversation_id, to_id, self.user)
        except services.ChatError as error:
            await self.send_error(error.code, str(error))

    async def on_end(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._joined(frame)
        if conversation_id is not None:
            await database_sync_to_async(services.end_conversation)(conversation_id, by=self.user)

    async def on_heartbeat(self, frame: dict[str, Any]) -> None:
        status = frame.get("status")
        # `visible` and `idle_seconds` (since the last input) say whether the agent is active.
        await database_sync_to_async(services.agent_heartbeat)(
            self.user,
            status=status if isinstance(status, str) else None,
            visible=frame.get("visible") is True,
            idle_seconds=_int(frame.get("idle_seconds")),
        )
        await self.send_json(dict(events.heartbeat_frame(status or "online")))


def _waiting_summaries() -> list[events.ConversationSummary]:
    waiting = (
        Conversation.objects.filter(status=ConversationStatus.WAITING, last_seq__gt=0)
        .select_related("team")
        .order_by("created_at")[:100]
    )
    return [events.conversation_summary(c) for c in waiting]


def _transfer(conversation_id: int, to_id: int, by: Any) -> None:
    from accounts.models import User

    to = User.objects.filter(pk=to_id, is_active=True).first()
    if to is None:
        raise services.ChatError("No such agent", code="not_found")
    services.transfer_conversation(conversation_id, to=to, by=by)


def _transfer_to_team(conversation_id: int, team_id: int, by: Any) -> None:
    from teams.models import Team

    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise services.ChatError("No such team", code="not_found")
    services.transfer_to_team(conversation_id, team=team, by=by)
