"""Automatic chat routing (`SUPPORTDESK_CHAT_ROUTING=auto`): a chat waiting for an agent goes to an
online agent of its team with room, least busy first, ties to whoever was given a chat longest
ago (round-robin). Manual mode (the default in production) leaves every chat in the queue.

When: the visitor's first line (core hook `chat_waiting`, after commit), a transfer to a team,
and whenever an agent may take more (`chat_capacity_changed`: came online or back from away,
capacity raised, added to a team; `chat_ended`: one of theirs ended). The sweep retries what is
still waiting and re-queues the unanswered chats of agents gone longer than the grace period.

The guarantee, under any number of processes assigning at once (Postgres):
- a chat is given to one agent: `assign_chat` holds the chat's row lock (SELECT ... FOR UPDATE)
  and gives it only while it is waiting with nobody assigned;
- an agent never holds more than `User.max_chats` open chats through routing: in the same
  transaction it locks the presence rows of every candidate agent (in id order, so two
  assigners never deadlock), then counts their open chats; a concurrent assigner for any of
  those agents waits for the commit and counts again (READ COMMITTED: a new snapshot per
  statement). Manual joins and transfers are a person's decision and are not capped.
tests/routing/test_concurrency.py proves both against two daphne processes.

An assigned chat stays `waiting` until the agent answers (their first line makes it active), so
it can be re-queued if they go away or disconnect for longer than
SUPPORTDESK_CHAT_ROUTING_GRACE_SECONDS.
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from accounts.models import User
from audit.services import record
from core.languages import or_default
from core.realtime import send_event_on_commit
from livechat import events, services
from livechat.models import (
    AgentPresence,
    ChatAuthorType,
    Conversation,
    ConversationStatus,
    PresenceStatus,
)
from teams.models import Team

log = logging.getLogger(__name__)

OPEN = (ConversationStatus.WAITING, ConversationStatus.ACTIVE)
# SQLite (embedded profile) has no row locks: one process, so a process lock does their work.
_sqlite_lock = threading.Lock()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def enabled() -> bool:
    return settings.SUPPORTDESK_CHAT_ROUTING == "auto"


def grace() -> timedelta:
    return timedelta(seconds=settings.SUPPORTDESK_CHAT_ROUTING_GRACE_SECONDS)


def _online(now: datetime) -> Q:
    """Present and taking chats: online (not away), a socket open, a fresh heartbeat."""
    return Q(
        status=PresenceStatus.ONLINE,
        sockets__gt=0,
        last_seen__gte=now - services.PRESENCE_TTL,
        user__is_active=True,
    )


def open_chats(user_ids: list[int]) -> dict[int, int]:
    """How many open (waiting or active) chats each agent holds."""
    rows = (
        Conversation.objects.filter(assignee_id__in=user_ids, status__in=OPEN)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    return dict(rows)


@dataclass(frozen=True)
class Assignment:
    conversation_id: int
    agent: User
    load_before: int


def assign_chat(conversation_id: int) -> Assignment | None:
    """Give a waiting, unassigned chat to the least busy online agent of its team with room.
    None when routing is manual, the chat is not waiting for anyone, or nobody is free (it
    stays in the queue)."""
    if not enabled():
        return None
    guard = _sqlite_lock if connection.vendor == "sqlite" else nullcontext()
    with guard, transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("team")
            .filter(pk=conversation_id)
            .first()
        )
        if (
            conversation is None
            or conversation.status != ConversationStatus.WAITING
            or conversation.assignee_id is not None
            or conversation.last_seq == 0
        ):
            return None
        now = timezone.now()
        candidates = AgentPresence.objects.filter(_online(now))
        if conversation.team_id is not None:
            members = Team.members.through.objects.filter(team_id=conversation.team_id)
            candidates = candidates.filter(user_id__in=members.values("user_id"))
        # Every candidate's presence row, locked in one order: concurrent assigners of these
        # agents queue here, so the counts below cannot be stale when we act on them.
        locked = list(
            candidates.select_for_update(of=("self",)).select_related("user").order_by("pk")
        )
        if not locked:
            return None
        loads = open_chats([p.user_id for p in locked])
        free = [p for p in locked if loads.get(p.user_id, 0) < p.user.max_chats]
        if not free:
            return None
        chosen = min(
            free, key=lambda p: (loads.get(p.user_id, 0), p.last_assigned_at or _EPOCH, p.pk)
        )
        agent = chosen.user
        conversation.assignee = agent
        conversation.save(update_fields=["assignee"])
        AgentPresence.objects.filter(pk=chosen.pk).update(last_assigned_at=now)
        record(
            "chat.assigned",
            obj=conversation,
            object_type="chat",
            detail={"to": agent.pk, "by": "routing", "team": conversation.team_id},
        )
        # The visitor sees who will answer; the line is the record (survives a reload).
        services.post_message(
            conversation.pk,
            author_type=ChatAuthorType.SYSTEM,
            body=_in_chat_language(
                conversation,
                gettext_lazy("%(name)s will be with you in a moment."),
                name=agent.display_name,
            ),
        )
        conversation.refresh_from_db()
        send_event_on_commit(
            events.QUEUE_GROUP, events.group_event(events.queue_frame(conversation, "assigned"))
        )
        return Assignment(conversation.pk, agent, loads.get(chosen.user_id, 0))


def _in_chat_language(conversation: Conversation, text: Promise, **values: str) -> str:
    """A system line the visitor reads, in the chat's language (it is stored as written)."""
    with translation.override(or_default(conversation.language)):
        return str(text) % values if values else str(text)


def waiting_chats(*, team_ids: list[int] | None = None, limit: int = 50) -> list[int]:
    """Chats waiting with nobody assigned, oldest first (only those of `team_ids` or no team
    when given)."""
    query = Conversation.objects.filter(
        status=ConversationStatus.WAITING, assignee__isnull=True, last_seq__gt=0
    )
    if team_ids is not None:
        query = query.filter(Q(team__isnull=True) | Q(team__in=team_ids))
    return list(query.order_by("created_at", "pk").values_list("pk", flat=True)[:limit])


def offer_waiting(*, user_id: int | None = None, limit: int = 50) -> int:
    """Offer waiting chats again, oldest first: all of them, or those `user_id` could take."""
    if not enabled():
        return 0
    now = timezone.now()
    present = AgentPresence.objects.filter(_online(now))
    if user_id is not None:
        present = present.filter(user_id=user_id)
    capacity = dict(present.values_list("user_id", "user__max_chats"))
    loads = open_chats(list(capacity))
    if not any(loads.get(agent, 0) < room for agent, room in capacity.items()):
        return 0  # nobody (or not this agent) has room: no lock taken, nothing tried
    team_ids = None
    if user_id is not None:
        team_ids = list(User.objects.get(pk=user_id).teams.values_list("pk", flat=True))
    assigned = 0
    for conversation_id in waiting_chats(team_ids=team_ids, limit=limit):
        if assign_chat(conversation_id) is not None:
            assigned += 1
    return assigned


def requeue_unanswered(*, limit: int = 200) -> int:
    """Chats assigned but not answered whose agent has been away or disconnected (or whose
    heartbeat stopped) longer than the grace period go back to the queue, unassigned."""
    if not enabled():
        return 0
    now = timezone.now()
    cutoff = now - grace()
    gone = AgentPresence.objects.filter(
        Q(away_since__lte=cutoff) | Q(last_seen__lte=cutoff - services.PRESENCE_TTL)
    ).values("user_id")
    requeued: list[int] = []
    with transaction.atomic():
        chats = list(
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("assignee", "team")
            .filter(status=ConversationStatus.WAITING, assignee_id__in=gone)
            .order_by("created_at")[:limit]
        )
        for conversation in chats:
            agent = conversation.assignee
            conversation.assignee = None
            conversation.save(update_fields=["assignee"])
            record(
                "chat.requeued",
                obj=conversation,
                object_type="chat",
                detail={"from": agent.pk if agent else None, "by": "routing"},
            )
            services.post_message(
                conversation.pk,
                author_type=ChatAuthorType.SYSTEM,
                body=_in_chat_language(
                    conversation,
                    gettext_lazy("Sorry for the wait: the next free agent will answer you."),
                ),
            )
            conversation.refresh_from_db()
            send_event_on_commit(
                events.QUEUE_GROUP,
                events.group_event(events.queue_frame(conversation, "requeued")),
            )
            requeued.append(conversation.pk)
    for conversation_id in requeued:
        assign_chat(conversation_id)
    return len(requeued)


# --- receivers (registered in LivechatConfig.ready()) -----------------------------------------


def on_chat_waiting(*, conversation_id: int) -> None:
    assign_chat(conversation_id)


def on_capacity_changed(*, user_id: int) -> None:
    offer_waiting(user_id=user_id, limit=20)


def on_chat_ended(*, conversation_id: int) -> None:
    assignee_id = (
        Conversation.objects.filter(pk=conversation_id)
        .values_list("assignee_id", flat=True)
        .first()
    )
    if assignee_id is not None:
        offer_waiting(user_id=assignee_id, limit=5)


def sweep() -> int:
    """The periodic pass: re-queue what waited on absent agents, then offer what still waits."""
    if not enabled():
        return 0
    return requeue_unanswered() + offer_waiting()
