"""Live chat operations: the one way in for consumers, the HTTP API, views and sweeps.

Locking contract: a message takes the next `seq` by incrementing `Conversation.last_seq` in an
UPDATE that holds the conversation's row lock until the INSERT commits, so seqs are gap-free and
strictly ordered per conversation. Fan-out happens only after commit (`send_event_on_commit`);
the channel layer is a hint and clients that miss a frame resume from the database.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from accounts.models import User
from attachments import services as attachment_services
from audit.services import record
from core import hooks, languages
from core.emails import render_email
from core.realtime import asend_event, send_event_on_commit
from customers.services import customer_for_email, language_of, remember_language
from livechat import events
from livechat.models import (
    AgentPresence,
    ChatAuthorType,
    ChatMessage,
    Conversation,
    ConversationStatus,
    PresenceStatus,
    visitor_display_name,
)
from livechat.queue_previews import queue_preview
from teams.models import Team
from teams.services import team_for_chat
from tickets import services as ticket_services
from tickets.models import AuthorType, Channel, Ticket

MAX_BODY = 5000
MAX_CLIENT_ID = 64
REPLAY_BATCH = 500
TOKEN_SALT = "livechat.visitor"
TOKEN_MAX_AGE = 24 * 3600
# A heartbeat older than this means the agent's socket (or its process) is gone.
PRESENCE_TTL = timedelta(seconds=90)


class ChatError(ValueError):
    """A request that cannot be carried out, with a code for frames and the API."""

    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


# --- visitor identity ------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitorIdentity:
    conversation_id: int
    email: str
    verified: bool


def issue_visitor_token(conversation: Conversation) -> str:
    payload = {"c": conversation.pk, "e": conversation.visitor_email, "v": conversation.verified}
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def read_visitor_token(token: str, *, max_age: int = TOKEN_MAX_AGE) -> VisitorIdentity | None:
    """The identity a token proves, or None when it is forged, malformed or expired."""
    if not token or len(token) > 1000:
        return None
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=max_age)
        return VisitorIdentity(int(data["c"]), str(data["e"]), bool(data["v"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def expected_user_hash(email: str, expires: int | None = None) -> str:
    """hex HMAC-SHA256 of the email (lower-cased), keyed with SUPPORTDESK_WIDGET_SECRET; with
    `expires` (unix seconds) the message is "<email>:<expires>" and the hash is "<expires>.<hex>"."""
    key = settings.SUPPORTDESK_WIDGET_SECRET.encode()
    email = email.strip().lower()
    if expires is None:
        return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()
    mac = hmac.new(key, f"{email}:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def user_hash_matches(email: str, user_hash: str, *, now: float | None = None) -> bool:
    """True for a valid `user_hash` of `email`: "<expires>.<hex>" before its expiry, or the plain
    hex (no expiry) unless SUPPORTDESK_WIDGET_HASH_REQUIRE_EXPIRY is on."""
    if not email:
        return False
    # Bytes, not str: compare_digest raises on non-ASCII text, and a hash is hostile input too.
    given = user_hash.strip().lower()
    expires: int | None = None
    if "." in given:
        stamp, _, _mac = given.partition(".")
        if not stamp.isdigit() or len(stamp) > 12:
            return False
        expires = int(stamp)
        if expires <= (now if now is not None else time.time()):
            return False
    elif settings.SUPPORTDESK_WIDGET_HASH_REQUIRE_EXPIRY:
        return False
    expected = expected_user_hash(email, expires).encode()
    return hmac.compare_digest(expected, given.encode("utf-8", "replace"))


def conversation_for_identity(identity: VisitorIdentity) -> Conversation | None:
    """The conversation a token is bound to; a token never opens another visitor's chat."""
    conversation = Conversation.objects.filter(pk=identity.conversation_id).first()
    if conversation is None or conversation.visitor_email != identity.email:
        return None
    return conversation


def visitor_conversation_id(token: str) -> int | None:
    """The conversation a visitor token opens, or None (forged, expired, or not its chat)."""
    identity = read_visitor_token(token)
    if identity is None:
        return None
    conversation = conversation_for_identity(identity)
    return conversation.pk if conversation is not None else None


def start_session(
    *,
    name: str,
    email: str,
    page_url: str = "",
    user_hash: str = "",
    visitor_token: str = "",
    team: str = "",
    language: str = "",
) -> tuple[Conversation, str]:
    """Continue the conversation of `visitor_token` when it is still open, else start one.

    A `user_hash` proves the email (HMAC with the site's widget secret); a wrong one is refused.
    A new chat's team is the one `team` names (a slug), else the page-prefix rule
    (teams.services.team_for_chat).
    `language`: the widget's (its `lang` option, the page's or the browser's); kept on the chat
    for its emails and remembered on a verified visitor's customer.
    """
    language = languages.supported(language)
    email = email.strip().lower()
    verified = False
    if user_hash:
        if not user_hash_matches(email, user_hash):
            raise ChatError(
                "user_hash does not match the email (or has expired)", code="bad_user_hash"
            )
        verified = True
    identity = read_visitor_token(visitor_token) if visitor_token else None
    if identity is not None:
        existing = conversation_for_identity(identity)
        if (
            existing is not None
            and existing.status != ConversationStatus.ENDED
            and (not email or email == existing.visitor_email)
            and (existing.verified or not verified)
        ):
            if language and existing.language != language:
                existing.language = language
                existing.save(update_fields=["language"])
            if language and existing.customer is not None:
                remember_language(existing.customer, language)
            return existing, issue_visitor_token(existing)
    # Only a proven address links the chat to a customer: an unverified claim is shown to agents
    # as a claim ("says they are ...") and never opens that customer's orders, tickets or grants.
    customer = (
        customer_for_email(email, name=name, language=language) if email and verified else None
    )
    conversation = Conversation.objects.create(
        visitor_name=name.strip()[:200],
        visitor_email=email,
        verified=verified,
        customer=customer,
        page_url=page_url[:1000],
        team=team_for_chat(slug=team, page_url=page_url),
        language=language,
    )
    return conversation, issue_visitor_token(conversation)


# --- proving a claimed email with a one-time code ------------------------------------------------

VERIFY_CODE_TTL = timedelta(minutes=10)
VERIFY_MAX_ATTEMPTS = 5
VERIFY_MAX_CODES_PER_HOUR = 5


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _code_hash(conversation_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(
        key, f"chat-verify:{conversation_id}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def request_email_verification(conversation: Conversation) -> str:
    """Email a 6-digit code to the address the visitor claims; returns the masked address.

    At most VERIFY_MAX_CODES_PER_HOUR codes per chat; a new code replaces the earlier ones."""
    from livechat.models import EmailVerification
    from mailer.services import build_email, queue_email

    if conversation.verified:
        raise ChatError("This chat is already verified", code="already_verified")
    if not conversation.visitor_email:
        raise ChatError("Give an email address first", code="no_email")
    now = timezone.now()
    recent = EmailVerification.objects.filter(
        conversation=conversation, created_at__gte=now - timedelta(hours=1)
    ).count()
    if recent >= VERIFY_MAX_CODES_PER_HOUR:
        raise ChatError("Too many codes asked for; try again later", code="rate_limited")
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        EmailVerification.objects.filter(conversation=conversation, used_at__isnull=True).update(
            used_at=now
        )
        EmailVerification.objects.create(
            conversation=conversation,
            email=conversation.visitor_email,
            code_hash=_code_hash(conversation.pk, code),
            expires_at=now + VERIFY_CODE_TTL,
        )
        email = render_email(
            "chat-code",
            {"company": settings.SUPPORTDESK_COMPANY_NAME, "code": code, "minutes": 10},
            language=conversation.language,
        )
        queue_email(
            build_email(
                to=[conversation.visitor_email],
                subject=email.subject,
                body_text=email.body_text,
                extra_headers={"Auto-Submitted": "auto-generated"},
            )
        )
        record(
            "chat.verification_requested",
            obj=conversation,
            object_type="chat",
            detail={"to": mask_email(conversation.visitor_email)},
        )
    return mask_email(conversation.visitor_email)


def confirm_email_verification(conversation: Conversation, code: str) -> tuple[Conversation, str]:
    """Check the visitor's code; on success the chat is verified and linked to the customer of
    that address. Returns (conversation, new visitor token). Wrong codes count toward a limit."""
    from livechat.models import EmailVerification

    code = (code or "").strip()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.verified:
            return locked, issue_visitor_token(locked)
        pending = (
            EmailVerification.objects.select_for_update()
            .filter(conversation=locked, used_at__isnull=True, email=locked.visitor_email)
            .order_by("-created_at")
            .first()
        )
        now = timezone.now()
        if pending is None or pending.expires_at <= now:
            raise ChatError("No code is waiting; ask for a new one", code="no_code")
        if pending.attempts >= VERIFY_MAX_ATTEMPTS:
            raise ChatError("Too many wrong codes; ask for a new one", code="too_many_attempts")
        right = (
            code.isdigit()
            and len(code) == 6
            and hmac.compare_digest(pending.code_hash, _code_hash(locked.pk, code))
        )
        if not right:
            # Counted in this (committed) transaction, then refused outside it.
            EmailVerification.objects.filter(pk=pending.pk).update(attempts=F("attempts") + 1)
    if not right:
        raise ChatError("That code is not right", code="wrong_code")
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.verified:
            return locked, issue_visitor_token(locked)
        claimed = EmailVerification.objects.filter(pk=pending.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not claimed:
            raise ChatError("No code is waiting; ask for a new one", code="no_code")
        locked.verified = True
        locked.customer = customer_for_email(locked.visitor_email, name=locked.visitor_name)
        locked.save(update_fields=["verified", "customer"])
        record("chat.verified", obj=locked, object_type="chat", detail={"by": "email_code"})
        post_message(
            locked.pk,
            author_type=ChatAuthorType.SYSTEM,
            body=f"{locked.visitor_display_name} confirmed their email address.",
        )
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(locked, "verified"))
        )
    return locked, issue_visitor_token(locked)


# --- messages --------------------------------------------------------------------------------
#
# One write path for every chat line (visitor, agent, system; sockets, the HTTP API, services):
# `chat_line` checks the line and decides its author, and one SQL statement (`_STORE_LINE`)
# takes the conversation's next seq under its row lock and inserts the line. Sockets run the
# statement on their own event loop over the async pool (`apost_message`, committed on its own);
# the HTTP API and services run it on Django's connection inside their transaction
# (`post_message`). Either way the fan-out happens after commit.


# Characters that draw nothing: a body made only of these (and spaces) is an empty message.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A chat line checked and ready to store, with its author decided."""

    conversation_id: int
    author_type: str
    author_user: User | None
    # None: the visitor's display name, read from the conversation row when the line is stored.
    author_name: str | None
    author_trainee: bool
    body: str
    client_id: str
    # Files sent with the line (attachments app), checked and bound when the line is stored.
    attachment_ids: tuple[int, ...] = ()


def chat_line(
    conversation_id: int,
    *,
    author_type: ChatAuthorType | str,
    body: str,
    client_id: str = "",
    author_user: User | None = None,
    attachment_ids: Iterable[Any] = (),
) -> ChatLine:
    """Check a line (ChatError on bad input) and decide its author: the one place that does, for
    every way a line comes in. An agent line carries the agent's name and whether they are a
    trainee now; a system line the company's name; a visitor line the conversation's name.
    A line may be only files (`attachment_ids`, at most 20 whole numbers)."""
    ids = _attachment_ids(attachment_ids)
    if not ids and not _INVISIBLE.sub("", body).strip():
        raise ChatError("A message needs a body", code="empty_body")
    if "\x00" in body or "\x00" in client_id:
        # Postgres text cannot hold NUL; refused here rather than failing in the database.
        raise ChatError("Text cannot contain NUL characters", code="invalid")
    if len(body) > MAX_BODY:
        raise ChatError(f"A message is at most {MAX_BODY} characters", code="too_large")
    if len(client_id) > MAX_CLIENT_ID:
        raise ChatError(f"client_id is at most {MAX_CLIENT_ID} characters", code="invalid")
    kind = ChatAuthorType(author_type)
    name: str | None = None
    trainee = False
    if kind == ChatAuthorType.AGENT and author_user is not None:
        name, trainee = author_user.display_name, author_user.is_trainee
    elif kind == ChatAuthorType.SYSTEM:
        name = settings.SUPPORTDESK_COMPANY_NAME
    return ChatLine(
        conversation_id=conversation_id,
        author_type=kind.value,
        author_user=author_user,
        author_name=name,
        author_trainee=trainee,
        body=body,
        client_id=client_id,
        attachment_ids=ids,
    )


def _attachment_ids(value: Iterable[Any]) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ChatError("attachment_ids must be a list of attachment ids", code="invalid")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in value):
        raise ChatError("attachment_ids must be a list of attachment ids", code="invalid")
    ids = tuple(dict.fromkeys(value))
    if len(ids) > attachment_services.MAX_IDS:
        raise ChatError(
            f"At most {attachment_services.MAX_IDS} attachments per message", code="too_many"
        )
    return ids


def _bind_files(line: ChatLine, message: ChatMessage) -> None:
    """Put the line's files on it, in the line's transaction (a refused file undoes the line)."""
    if not line.attachment_ids:
        return
    try:
        message.files = attachment_services.bind_to_chat_message(
            line.attachment_ids,
            conversation_id=line.conversation_id,
            chat_message_id=message.pk,
            by=line.author_user if line.author_type == ChatAuthorType.AGENT else None,
        )
    except attachment_services.AttachmentError as error:
        raise ChatError(str(error), code=error.code) from None


# The conversation's columns the statement returns after `last_seq`: what the queue event of a
# waiting chat shows, so that event needs no second query.
_CONVERSATION_COLUMNS = (
    "status",
    "visitor_name",
    "visitor_email",
    "verified",
    "customer_id",
    "assignee_id",
    "ticket_id",
    "page_url",
    "created_at",
    "team_id",
)
# Postgres: one statement, one round trip. `any_status` false limits it to waiting and active
# chats (the sockets' path); the visitor's name is Conversation.visitor_display_name.
_STORE_LINE = """
WITH conv AS (
    UPDATE livechat_conversation SET last_seq = last_seq + 1, last_message_at = %(now)s
    WHERE id = %(conversation_id)s AND (%(any_status)s OR status IN (%(waiting)s, %(active)s))
    RETURNING id, last_seq, status, visitor_name, visitor_email, verified, customer_id,
        assignee_id, ticket_id, page_url, created_at, team_id
), line AS (
    INSERT INTO livechat_chatmessage (conversation_id, seq, client_id, author_type,
        author_user_id, author_name, author_trainee, body, sent_at)
    SELECT id, last_seq, %(client_id)s, %(author_type)s, %(author_user_id)s,
        COALESCE(%(author_name)s, NULLIF(visitor_name, ''),
                 NULLIF(split_part(visitor_email, '@', 1), ''), 'Visitor'),
        %(author_trainee)s, %(body)s, %(now)s
    FROM conv
    RETURNING id, author_name
)
SELECT line.id, line.author_name, conv.last_seq, conv.status, conv.visitor_name,
    conv.visitor_email, conv.verified, conv.customer_id, conv.assignee_id, conv.ticket_id,
    conv.page_url, conv.created_at, conv.team_id,
    (SELECT name FROM teams_team WHERE teams_team.id = conv.team_id)
FROM line, conv
"""
# SQLite (the embedded profile) has no UPDATE inside WITH: the same two steps in one transaction.
_TAKE_SEQ = """
UPDATE livechat_conversation SET last_seq = last_seq + 1, last_message_at = %(now)s
WHERE id = %(conversation_id)s AND (%(any_status)s OR status IN (%(waiting)s, %(active)s))
RETURNING id, last_seq, status, visitor_name, visitor_email, verified, customer_id,
    assignee_id, ticket_id, page_url, created_at, team_id
"""
_INSERT_LINE = """
INSERT INTO livechat_chatmessage (conversation_id, seq, client_id, author_type, author_user_id,
    author_name, author_trainee, body, sent_at)
VALUES (%(conversation_id)s, %(seq)s, %(client_id)s, %(author_type)s, %(author_user_id)s,
    %(author_name)s, %(author_trainee)s, %(body)s, %(now)s)
RETURNING id
"""
_FIND_LINE = """
SELECT id, seq, author_type, author_user_id, author_name, author_trainee, body, sent_at
FROM livechat_chatmessage WHERE conversation_id = %(conversation_id)s AND client_id = %(client_id)s
"""

# Which way each line was stored in this process: "pool" (a socket's event loop, the async pool)
# or "connection" (Django's connection, in the caller's transaction). Tests read it to prove that
# socket lines take the pool.
line_writes: collections.Counter[str] = collections.Counter()


_STATUS_AT = 1 + _CONVERSATION_COLUMNS.index("status")
_ASSIGNEE_AT = 1 + _CONVERSATION_COLUMNS.index("assignee_id")
_TEAM_NAME_AT = 1 + len(_CONVERSATION_COLUMNS)  # only in rows of the Postgres statement


@dataclass(slots=True)
class StoredLine:
    message: ChatMessage
    # The conversation row as the statement left it: last_seq, then _CONVERSATION_COLUMNS, then
    # (Postgres) the team's name. Most lines need only its status and assignee; the model is
    # built on first use (the queue entry of a waiting chat, hooks), ~10 µs a line otherwise.
    row: tuple[Any, ...]
    built: Conversation | None = None

    @property
    def status(self) -> str:
        return str(self.row[_STATUS_AT])

    @property
    def assignee_id(self) -> int | None:
        value: int | None = self.row[_ASSIGNEE_AT]
        return value

    @property
    def conversation(self) -> Conversation:
        if self.built is None:
            self.built = _conversation_from_row(self.message.conversation_id, self.row)
        return self.built

    def summary(self) -> events.ConversationSummary:
        """The chat as its queue entry shows it. From a Postgres row (which carries the team's
        name) without building the model: ~20 µs a line, and a preview batch (queue_previews)
        builds one per waiting chat at once, in one turn of the socket's event loop."""
        if self.built is not None or len(self.row) <= _TEAM_NAME_AT:
            return events.conversation_summary(self.conversation)
        (last_seq, status, name, email, verified, customer_id, assignee_id, ticket_id, page_url,
         created_at, team_id, team_name) = self.row  # fmt: skip
        return events.ConversationSummary(
            id=self.message.conversation_id,
            status=status,
            visitor_name=visitor_display_name(name, email),
            visitor_email=email,
            verified=verified,
            customer_id=customer_id,
            assignee_id=assignee_id,
            last_seq=last_seq,
            ticket_id=ticket_id,
            page_url=page_url,
            created_at=created_at.isoformat(),
            team_id=team_id,
            team=team_name if team_id is not None else None,
        )


def _params(line: ChatLine, now: datetime, *, any_status: bool) -> dict[str, Any]:
    return {
        "now": now,
        "conversation_id": line.conversation_id,
        "any_status": any_status,
        "waiting": ConversationStatus.WAITING.value,
        "active": ConversationStatus.ACTIVE.value,
        "client_id": line.client_id,
        "author_type": line.author_type,
        "author_user_id": line.author_user.pk if line.author_user is not None else None,
        "author_name": line.author_name,
        "author_trainee": line.author_trainee,
        "body": line.body,
    }


def _stored(
    line: ChatLine, now: datetime, message_id: int, author_name: str, row: Any
) -> StoredLine:
    message = ChatMessage(
        id=message_id,
        conversation_id=line.conversation_id,
        seq=row[0],
        client_id=line.client_id,
        author_type=line.author_type,
        author_user=line.author_user,
        author_name=author_name,
        author_trainee=line.author_trainee,
        body=line.body,
        sent_at=now,
    )
    message._state.adding = False
    return StoredLine(message, tuple(row))


def _conversation_from_row(conversation_id: int, row: tuple[Any, ...]) -> Conversation:
    conversation = Conversation(
        id=conversation_id,
        last_seq=row[0],
        **dict(zip(_CONVERSATION_COLUMNS, row[1:_TEAM_NAME_AT], strict=True)),
    )
    if conversation.team_id is not None and len(row) > _TEAM_NAME_AT:
        # The team's name came with the row (Postgres statement): the queue event shows it
        # without a query, which a socket's event loop could not make.
        conversation.team = Team(id=conversation.team_id, name=row[_TEAM_NAME_AT])
    return conversation


def _found(line: ChatLine, row: Any) -> ChatMessage:
    pk, seq, author_type, author_user_id, author_name, trainee, body, sent_at = row
    message = ChatMessage(
        id=pk,
        conversation_id=line.conversation_id,
        seq=seq,
        client_id=line.client_id,
        author_type=author_type,
        author_user_id=author_user_id,
        author_name=author_name,
        author_trainee=trainee,
        body=body,
        sent_at=sent_at,
    )
    message._state.adding = False
    return message


def _line_events(stored: StoredLine) -> list[tuple[str, dict[str, Any]]]:
    """What a stored line publishes: the line to its chat, and for a visitor's line in a waiting
    chat the queue entry to every agent (a waiting visitor, and each new line from one). Sent
    after commit by `post_message`; a socket's line (`apost_message`) sends its queue entry in the
    event loop's next preview batch instead (livechat/queue_previews.py)."""
    published = [_line_event(stored)]
    if _updates_queue(stored):
        published.append((events.QUEUE_GROUP, events.group_event(_queue_entry(stored))))
    return published


def _line_event(stored: StoredLine) -> tuple[str, dict[str, Any]]:
    message = stored.message
    return events.chat_group(message.conversation_id), events.group_event(
        events.message_frame(message)
    )


def _updates_queue(stored: StoredLine) -> bool:
    return (
        stored.message.author_type == ChatAuthorType.VISITOR
        and stored.status == ConversationStatus.WAITING
    )


def _queue_entry(stored: StoredLine) -> events.QueueFrame:
    return events.summary_queue_frame(stored.summary(), "waiting", preview=stored.message.body)


def _store_on_connection(line: ChatLine, now: datetime) -> StoredLine | None:
    """Run the statement on Django's connection (inside the caller's transaction)."""
    params = _params(line, now, any_status=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_STORE_LINE, params)
            row = cursor.fetchone()
            if row is None:
                return None
            return _stored(line, now, row[0], row[1], row[2:])
        params["now"] = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(_TAKE_SEQ, params)
        taken = cursor.fetchone()
        if taken is None:
            return None
        conversation_row = taken[1:]
        name = line.author_name or visitor_display_name(taken[3], taken[4])
        cursor.execute(_INSERT_LINE, {**params, "seq": taken[1], "author_name": name})
        (message_id,) = cursor.fetchone()
    stored = _stored(line, now, message_id, name, conversation_row)
    # Raw SQLite rows come back unconverted (0/1, text); the queue event needs the real types.
    stored.conversation.verified = bool(stored.conversation.verified)
    created_at: Any = stored.conversation.created_at
    if isinstance(created_at, str):
        stored.conversation.created_at = parse_datetime(created_at) or now
    return stored


def _first_visitor_line(stored: StoredLine) -> bool:
    return (
        stored.status == ConversationStatus.WAITING
        and not ChatMessage.objects.filter(
            conversation_id=stored.conversation.pk,
            author_type=ChatAuthorType.VISITOR,
            seq__lt=stored.message.seq,
        ).exists()
    )


def _chat_started(conversation: Conversation) -> None:
    """The visitor's first line put the chat in the queue: `chat_started` (webhooks write their
    outbox rows in this transaction), then, after commit, routing offers it to a free agent."""
    hooks.chat_started.fire(conversation=conversation, agents_online=agents_available())
    if conversation.assignee_id is None:
        hooks.chat_waiting.fire_on_commit(conversation_id=conversation.pk)


def post_message(
    conversation_id: int,
    *,
    author_type: ChatAuthorType | str,
    body: str,
    client_id: str = "",
    author_user: User | None = None,
    attachment_ids: Iterable[Any] = (),
) -> tuple[ChatMessage, bool]:
    """Store a line with the conversation's next seq; a repeated client_id returns the first.
    Its files (`attachment_ids`) are bound in the same transaction: one that is not this chat's
    (nor the agent's own unsent upload) raises ChatError(`foreign_attachment`), nothing stored.

    Returns (message, created). Runs in the caller's transaction (one of its own otherwise), and
    the fan-out is sent only after commit. An agent writing in an ended chat reaches the visitor
    by email. Sockets use `apost_message`, the same statement on their own event loop.
    """
    line = chat_line(
        conversation_id,
        author_type=author_type,
        body=body,
        client_id=client_id,
        author_user=author_user,
        attachment_ids=attachment_ids,
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            stored = _store_on_connection(line, now)
            if stored is None:
                raise ChatError("No such conversation", code="not_found")
            if (
                line.author_type == ChatAuthorType.VISITOR
                and stored.status == ConversationStatus.ENDED
            ):
                # Nobody reads an ended chat: refuse clearly (rolled back) rather than store a
                # line no agent is told about. The widget offers a new chat.
                raise ChatError(
                    "This chat has ended. Start a new chat to write to us again.",
                    code="chat_ended",
                )
            line_writes["connection"] += 1
            _bind_files(line, stored.message)
            for group, event in _line_events(stored):
                send_event_on_commit(group, event)
            if line.author_type == ChatAuthorType.VISITOR and _first_visitor_line(stored):
                _chat_started(stored.conversation)
            if (
                line.author_type == ChatAuthorType.AGENT
                and line.author_user is not None
                and stored.status == ConversationStatus.WAITING
                and stored.assignee_id == line.author_user.pk
            ):
                answer_assigned_chat(conversation_id, agent=line.author_user)
            if (
                line.author_type == ChatAuthorType.AGENT
                and stored.status == ConversationStatus.ENDED
            ):
                # The visitor is gone: what the agent writes now reaches them by email.
                _continue_by_email(conversation_id, stored.message, by=author_user)
    except IntegrityError:
        if not client_id:
            raise
        existing = (
            ChatMessage.objects.filter(conversation_id=conversation_id, client_id=client_id)
            .prefetch_related("attachments")
            .first()
        )
        if existing is None:
            raise
        return existing, False
    return stored.message, True


async def apost_message(
    conversation_id: int,
    *,
    author_type: ChatAuthorType | str,
    body: str,
    client_id: str,
    author_user: User | None = None,
    attachment_ids: Iterable[Any] = (),
    first_line: bool = False,
) -> tuple[ChatMessage, bool]:
    """`post_message` for sockets: the same line, statement, result and after-commit fan-out, but
    a line of a waiting or active chat is stored over the async pool (livechat/asyncdb.py) and
    published from this event loop, so sockets do not queue behind each other on the ORM thread.

    A repeated client_id returns the first copy from the pool too. Only an ended or unknown chat
    (whose agent lines continue by email), a database error, or the embedded profile (SQLite:
    no pool) go through post_message, whose client_id idempotency makes that retry safe. So does
    a line with files: their rows are checked and bound under lock in the line's transaction, and
    the visitor's `first_line` (the chat starts: its webhook event commits with the line).
    """
    from psycopg.errors import UniqueViolation

    from livechat import asyncdb

    line = chat_line(
        conversation_id,
        author_type=author_type,
        body=body,
        client_id=client_id,
        author_user=author_user,
        attachment_ids=attachment_ids,
    )
    if client_id and asyncdb.available() and not line.attachment_ids and not first_line:
        now = timezone.now()
        try:
            row = await asyncdb.fetchone(_STORE_LINE, _params(line, now, any_status=False))
        except UniqueViolation:
            found = await asyncdb.fetchone(
                _FIND_LINE, {"conversation_id": conversation_id, "client_id": client_id}
            )
            if found is not None:
                line_writes["pool"] += 1
                return _found(line, found), False
            row = None
        except Exception:
            asyncdb.log.warning("Chat line not stored over the pool; using the ORM", exc_info=True)
            row = None
        if row is not None:
            line_writes["pool"] += 1
            stored = _stored(line, now, row[0], row[1], row[2:])
            if (
                line.author_type == ChatAuthorType.AGENT
                and author_user is not None
                and stored.status == ConversationStatus.WAITING
                and stored.assignee_id == author_user.pk
            ):
                # Active before anyone sees the line, as post_message does in its transaction
                # (once per chat: the assigned agent's first line).
                await database_sync_to_async(answer_assigned_chat)(
                    conversation_id, agent=author_user
                )
            await asend_event(*_line_event(stored))
            if _updates_queue(stored):
                # Previews go out in batches (livechat/queue_previews.py), after the line.
                queue_preview(conversation_id, functools.partial(_queue_entry, stored))
            return stored.message, True
    return await database_sync_to_async(post_message)(
        conversation_id,
        author_type=author_type,
        body=body,
        client_id=client_id,
        author_user=author_user,
        attachment_ids=line.attachment_ids,
    )


def visitor_has_written(conversation_id: int) -> bool:
    return ChatMessage.objects.filter(
        conversation_id=conversation_id, author_type=ChatAuthorType.VISITOR
    ).exists()


def answer_assigned_chat(conversation_id: int, *, agent: User) -> None:
    """The assigned agent's first line in a chat routing gave them answers it: the chat becomes
    active. (An assigned chat stays waiting until then, so routing can re-queue it if its agent
    goes away first.) Another agent's line in a waiting chat changes nothing, as before."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
        if (
            conversation is None
            or conversation.status != ConversationStatus.WAITING
            or conversation.assignee_id != agent.pk
        ):
            return
        conversation.status = ConversationStatus.ACTIVE
        conversation.joined_at = conversation.joined_at or timezone.now()
        conversation.save(update_fields=["status", "joined_at"])
        record("chat.answered", obj=conversation, object_type="chat", actor=agent)
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(conversation, "joined"))
        )


def post_system_message(conversation_id: int, body: str, *, key: str = "") -> ChatMessage:
    """A line from the company in the chat (what was made right, who joined), committed with the
    caller's transaction and fanned out after commit like any message, with the next seq.

    `key` (at most 64 characters, stored as the client_id) makes the line idempotent: posting the
    same key again returns the first message. Raises ChatError("not_found") for an unknown chat.
    """
    body = body.strip()
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1] + "…"
    message, _ = post_message(
        conversation_id, author_type=ChatAuthorType.SYSTEM, body=body, client_id=key
    )
    return message


def _continue_by_email(conversation_id: int, message: ChatMessage, *, by: User | None) -> None:
    conversation = Conversation.objects.get(pk=conversation_id)
    if by is None:
        return
    if conversation.ticket_id is not None:
        ticket = Ticket.objects.get(pk=conversation.ticket_id)
        ticket_services.add_agent_reply(ticket, by=by, body_text=message.body)
    elif conversation.visitor_email:
        escalate_to_email(conversation_id, by=by, note=message.body)


async def alast_seqs(conversation_ids: list[int]) -> dict[int, int]:
    """Each conversation's last seq (what a socket tells its client after a layer blip), over the
    async pool when there is one."""
    from livechat import asyncdb

    if asyncdb.available():
        try:
            rows = await asyncdb.fetchall(
                "SELECT id, last_seq FROM livechat_conversation WHERE id = ANY(%(ids)s)",
                {"ids": conversation_ids},
            )
            return {row[0]: row[1] for row in rows}
        except Exception:
            asyncdb.log.warning("Last seqs not read over the pool; using the ORM", exc_info=True)
    return await database_sync_to_async(_last_seqs)(conversation_ids)


def _last_seqs(conversation_ids: list[int]) -> dict[int, int]:
    return dict(Conversation.objects.filter(pk__in=conversation_ids).values_list("pk", "last_seq"))


def messages_after(
    conversation_id: int, *, after_seq: int, limit: int = REPLAY_BATCH
) -> list[ChatMessage]:
    """What a client missed: messages with seq > after_seq, oldest first, at most `limit`."""
    return list(
        ChatMessage.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .order_by("seq")
        .prefetch_related("attachments")[:limit]
    )


# --- agents ----------------------------------------------------------------------------------


def join_conversation(conversation_id: int, *, agent: User) -> Conversation:
    """The agent takes a waiting chat (or an ended one back); joining an active chat keeps its
    assignee, so a second agent can help without taking it over."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if (
            conversation.assignee_id is not None
            and conversation.status == ConversationStatus.ACTIVE
        ):
            return conversation
        conversation.status = ConversationStatus.ACTIVE
        conversation.assignee = agent
        conversation.joined_at = conversation.joined_at or timezone.now()
        conversation.ended_at = None
        conversation.save(update_fields=["status", "assignee", "joined_at", "ended_at"])
        record("chat.joined", obj=conversation, object_type="chat", actor=agent)
        post_message(
            conversation.pk,
            author_type=ChatAuthorType.SYSTEM,
            body=f"{agent.display_name} joined the chat.",
        )
        conversation.refresh_from_db()
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(conversation, "joined"))
        )
    return conversation


def transfer_conversation(conversation_id: int, *, to: User, by: User) -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.assignee_id == to.pk:
            return conversation
        conversation.assignee = to
        conversation.status = ConversationStatus.ACTIVE
        before = conversation.assignee_id
        conversation.save(update_fields=["assignee", "status"])
        record(
            "chat.transferred",
            obj=conversation,
            object_type="chat",
            actor=by,
            changes={"assignee": (before, to.pk)},
        )
        post_message(
            conversation.pk,
            author_type=ChatAuthorType.SYSTEM,
            body=f"{by.display_name} handed the chat to {to.display_name}.",
        )
        conversation.refresh_from_db()
        send_event_on_commit(
            events.QUEUE_GROUP,
            events.group_event(events.queue_frame(conversation, "transferred")),
        )
    return conversation


def transfer_to_team(conversation_id: int, *, team: Team, by: User) -> Conversation:
    """Hand the chat to a team: it goes back to the queue as the team's, unassigned (automatic
    routing offers it to a free member at once). An ended chat cannot be handed on."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == ConversationStatus.ENDED:
            raise ChatError("This chat has ended", code="chat_ended")
        before = {"team": conversation.team_id, "assignee": conversation.assignee_id}
        conversation.team = team
        conversation.assignee = None
        conversation.status = ConversationStatus.WAITING
        conversation.save(update_fields=["team", "assignee", "status"])
        record(
            "chat.transferred",
            obj=conversation,
            object_type="chat",
            actor=by,
            changes={"team": (before["team"], team.pk), "assignee": (before["assignee"], None)},
        )
        post_message(
            conversation.pk,
            author_type=ChatAuthorType.SYSTEM,
            body=f"{by.display_name} handed the chat to the {team.name} team.",
        )
        conversation.refresh_from_db()
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(conversation, "waiting"))
        )
        hooks.chat_waiting.fire_on_commit(conversation_id=conversation.pk)
    return conversation


def end_conversation(conversation_id: int, *, by: User | None = None) -> Conversation:
    """End a chat; it is kept, and an agent can still write (it goes by email once escalated)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == ConversationStatus.ENDED:
            return conversation
        conversation.status = ConversationStatus.ENDED
        conversation.ended_at = timezone.now()
        conversation.save(update_fields=["status", "ended_at"])
        record("chat.ended", obj=conversation, object_type="chat", actor=by)
        who = by.display_name if by is not None else conversation.visitor_display_name
        post_message(
            conversation.pk, author_type=ChatAuthorType.SYSTEM, body=f"{who} ended the chat."
        )
        conversation.refresh_from_db()
        hooks.chat_ending.fire(conversation=conversation, by=by)
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(conversation, "ended"))
        )
        # The widget shows the CSAT form on this frame (or on `hello` with status "ended").
        send_event_on_commit(
            events.chat_group(conversation.pk),
            events.group_event(events.ended_frame(conversation.pk)),
        )
        # After commit, robust: a reaction (csat's survey) never breaks ending the chat.
        hooks.chat_ended.fire_on_commit(conversation_id=conversation_id)
    return conversation


def transcript(conversation: Conversation, *, limit: int = 5000) -> str:
    lines = []
    for message in conversation.messages.order_by("seq")[:limit]:
        stamp = timezone.localtime(message.sent_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"[{stamp}] {message.author_name}: {message.body}")
    return "\n".join(lines) or "(no messages)"


def escalate_to_email(
    conversation_id: int,
    *,
    by: User,
    email: str = "",
    note: str = "",
    follow_up_at: datetime | None = None,
) -> Ticket:
    """Turn the chat into a ticket: transcript first, then the agent's email (threaded, so the
    customer's reply continues the ticket), an optional follow-up, and a line in the chat.

    Escalating twice returns the first ticket.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.ticket_id is not None:
            return Ticket.objects.get(pk=conversation.ticket_id)
        address = (email or conversation.visitor_email).strip().lower()
        if not address or "@" not in address:
            raise ChatError("An email address is needed to continue by email", code="no_email")
        customer = customer_for_email(
            address, name=conversation.visitor_name, language=conversation.language
        )
        first_line = (
            conversation.messages.filter(author_type=ChatAuthorType.VISITOR)
            .order_by("seq")
            .values_list("body", flat=True)
            .first()
        )
        subject = (first_line or f"Chat with {conversation.visitor_display_name}")[:120]
        ticket, _ = ticket_services.create_ticket(
            ticket_services.NewTicket(
                customer=customer,
                subject=subject,
                body_text=f"Chat transcript (chat {conversation.pk}):\n\n{transcript(conversation)}",
                channel=Channel.CHAT,
                assignee=by,
                author_type=AuthorType.SYSTEM,
            )
        )
        # What the desk writes itself is in the customer's language (the agent's own words as
        # they wrote them).
        with translation.override(language_of(customer)):
            body = note.strip() or gettext(
                "Hi {name},\n\nas promised in our chat, we continue by email. Just reply to "
                "this message and it reaches us.\n\n{agent}"
            ).format(name=conversation.visitor_display_name, agent=by.display_name)
            follow_up_body = gettext("Following up on our chat about “{subject}”.")
            continues = gettext(
                "This conversation continues by email to {address} (ticket #{reference})."
            )
        ticket_services.add_agent_reply(ticket, by=by, body_text=body)
        if follow_up_at is not None:
            ticket_services.schedule_follow_up(
                ticket, by=by, send_at=follow_up_at, body=follow_up_body.format(subject=subject)
            )
        conversation.ticket = ticket
        if conversation.verified:
            # An unverified visitor's chat stays unlinked: the email went to the address, whose
            # owner may be someone else than the visitor.
            conversation.customer = conversation.customer or customer
        if not conversation.visitor_email:
            conversation.visitor_email = address
        conversation.save(update_fields=["ticket", "customer", "visitor_email"])
        record(
            "chat.escalated",
            obj=conversation,
            object_type="chat",
            actor=by,
            detail={"ticket": ticket.pk},
        )
        post_message(
            conversation.pk,
            author_type=ChatAuthorType.SYSTEM,
            body=continues.format(address=address, reference=ticket.reference),
        )
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(conversation, "escalated"))
        )
    return ticket


def submit_offline_message(
    *, name: str, email: str, message: str, page_url: str = "", language: str = ""
) -> Ticket:
    """What a visitor writes while no agent is online becomes a ticket answered by email (in
    `language`, the widget's, remembered on the customer)."""
    if not message.strip():
        raise ChatError("A message needs a body", code="empty_body")
    customer = customer_for_email(email, name=name, language=language)
    first = message.strip().splitlines()[0][:120]
    body = message if not page_url else f"{message}\n\n(sent from {page_url})"
    ticket, _ = ticket_services.create_ticket(
        ticket_services.NewTicket(
            customer=customer, subject=first, body_text=body, channel=Channel.WEB
        )
    )
    return ticket


# --- presence --------------------------------------------------------------------------------


def agent_connected(user: User) -> None:
    now = timezone.now()
    presence, created = AgentPresence.objects.get_or_create(
        user=user, defaults={"sockets": 1, "status": PresenceStatus.ONLINE, "last_seen": now}
    )
    if not created:
        AgentPresence.objects.filter(pk=presence.pk).update(
            sockets=Greatest(F("sockets") + 1, 1),
            status=PresenceStatus.ONLINE,
            last_seen=now,
            away_since=None,
        )
    # An agent who came online may take waiting chats (routing).
    hooks.chat_capacity_changed.fire_on_commit(user_id=user.pk)


def agent_disconnected(user: User) -> None:
    AgentPresence.objects.filter(user=user).update(sockets=Greatest(F("sockets") - 1, 0))
    # The last socket closed: the routing grace period starts (their unanswered chats are
    # re-queued after SUPPORTDESK_CHAT_ROUTING_GRACE_SECONDS unless they come back).
    AgentPresence.objects.filter(user=user, sockets=0).update(
        status=PresenceStatus.OFFLINE, away_since=Coalesce(F("away_since"), timezone.now())
    )


def agent_heartbeat(
    user: User,
    *,
    status: PresenceStatus | str | None = None,
    visible: bool = False,
    idle_seconds: int | None = None,
) -> None:
    """Presence heartbeat of an agent socket. While the agent is active in the console (page
    visible, recent input, not away) it also counts toward their support hours; the spans it
    extends are the same ones the pages' heartbeats extend, so nothing is counted twice."""
    now = timezone.now()
    changes: dict[str, object] = {"last_seen": now}
    if status in (PresenceStatus.ONLINE, PresenceStatus.AWAY):
        changes["status"] = status
    if status == PresenceStatus.AWAY:
        changes["away_since"] = Coalesce(F("away_since"), now)
    back = status == PresenceStatus.ONLINE and bool(
        AgentPresence.objects.filter(user=user, away_since__isnull=False).update(away_since=None)
    )
    AgentPresence.objects.filter(user=user).update(**changes)
    if back:
        # Back from away: the grace period ends and waiting chats may come to them (routing).
        hooks.chat_capacity_changed.fire_on_commit(user_id=user.pk)
    if status != PresenceStatus.AWAY:
        hooks.agent_active.fire(
            user_id=user.pk, source="console", visible=visible, idle_seconds=idle_seconds
        )


def online_agents() -> list[AgentPresence]:
    fresh = Q(sockets__gt=0, last_seen__gte=timezone.now() - PRESENCE_TTL)
    return list(
        AgentPresence.objects.filter(fresh)
        .exclude(status=PresenceStatus.OFFLINE)
        .select_related("user")[:200]
    )


def usual_wait_seconds() -> int | None:
    """The median time from a chat's start to an agent joining, over the last 50 joined chats of
    the past week: what the widget tells a waiting visitor. Cached for a minute (one query)."""
    cached = cache.get("livechat:usual-wait")
    if cached is not None:
        return int(cached) if cached >= 0 else None
    since = timezone.now() - timedelta(days=7)
    rows = list(
        Conversation.objects.filter(joined_at__isnull=False, created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", "joined_at")[:50]
    )
    waits = sorted(
        max(0, int((joined - created).total_seconds()))
        for created, joined in rows
        if joined is not None  # always: the query asks for joined chats
    )
    usual = waits[len(waits) // 2] if waits else None
    cache.set("livechat:usual-wait", -1 if usual is None else usual, 60)
    return usual


def agents_available() -> bool:
    """True when some agent is online (not away) with an open socket and a fresh heartbeat."""
    return AgentPresence.objects.filter(
        status=PresenceStatus.ONLINE,
        sockets__gt=0,
        last_seen__gte=timezone.now() - PRESENCE_TTL,
    ).exists()


# --- unanswered chats while nobody is online ----------------------------------------------------

UNANSWERED_AFTER = timedelta(minutes=2)
RENOTIFY_AFTER = timedelta(minutes=30)


def notify_unanswered_chats(*, limit: int = 100) -> int:
    """Email the assignee when their visitor wrote and no agent is online: once per stretch of
    unanswered messages and at most every 30 minutes per chat, so a chatty visitor is no burst."""
    from mailer.services import build_email, queue_email

    if agents_available():
        return 0
    now = timezone.now()
    sent = 0
    with transaction.atomic():
        due = (
            Conversation.objects.select_for_update(skip_locked=True)
            .select_related("assignee")
            .filter(
                status__in=[ConversationStatus.WAITING, ConversationStatus.ACTIVE],
                assignee__isnull=False,
                last_seq__gt=F("notified_seq"),
                last_message_at__lte=now - UNANSWERED_AFTER,
            )
            .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=now - RENOTIFY_AFTER))
            .order_by("last_message_at")[:limit]
        )
        for conversation in due:
            last = conversation.messages.order_by("-seq").first()
            if last is None or last.author_type != ChatAuthorType.VISITOR:
                continue
            if conversation.assignee is None:
                continue
            email = render_email(
                "chat-waiting",
                {
                    "visitor": conversation.visitor_display_name,
                    "chat_id": conversation.pk,
                    "line": last.body,
                    "site_url": settings.SITE_URL,
                },
                language=conversation.assignee.language,
            )
            queue_email(
                build_email(
                    to=[conversation.assignee.email],
                    subject=email.subject,
                    body_text=email.body_text,
                )
            )
            conversation.notified_seq = conversation.last_seq
            conversation.notified_at = now
            conversation.save(update_fields=["notified_seq", "notified_at"])
            sent += 1
    return sent


def move_customer_chats(*, source_id: int, into_id: int) -> None:
    """The `customer_merged` receiver: the merged customer's chats move to the one kept."""
    Conversation.objects.filter(customer_id=source_id).update(customer_id=into_id)
