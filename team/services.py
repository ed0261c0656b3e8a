"""Everyone on support: activity heartbeats, season tallies toward the hours goal, and handle time.

Hours are wall-clock time covered by activity spans. A heartbeat (from a page of the agent app
or from the chat console socket) counts only when the person was active: the page visible and an
input event within `IDLE_LIMIT`. It extends the person's span that it falls within the gap of
(`SUPPORTDESK_ACTIVITY_GAP_SECONDS`), or opens a new span.

Locking contract: `record_heartbeat` holds the person's user row (`select_for_update`) while it
reads and writes their spans, so concurrent heartbeats from two sources never open two
overlapping spans; spans of one person stay disjoint and summing them counts each second once.
More heartbeats cannot add time either: a span measures the clock, not the number of beats.

Handle time (tickets: first response and time to solve; chats: time with an agent and time to
the first answer) is information only. Nothing here ranks people by it or sets a target.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from accounts.models import User
from livechat.models import ChatAuthorType, ChatMessage, Conversation
from team.models import ActivitySource, ActivitySpan
from tickets.models import AuthorType, Message, Ticket

# An input event older than this means the person walked away: their heartbeats stop counting.
IDLE_LIMIT = timedelta(minutes=5)
MAX_PEOPLE = 1000


def activity_gap() -> timedelta:
    return timedelta(seconds=settings.SUPPORTDESK_ACTIVITY_GAP_SECONDS)


def goal_hours() -> int:
    return settings.SUPPORTDESK_HOURS_GOAL


# --- seasons -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Season:
    """[start, end): a calendar quarter by default, or open-ended from SUPPORTDESK_SEASON_START."""

    start: datetime
    end: datetime | None

    def contains(self, moment: datetime) -> bool:
        return moment >= self.start and (self.end is None or moment < self.end)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def current_season(*, now: datetime | None = None) -> Season:
    if settings.SUPPORTDESK_SEASON_START:
        return Season(_local_midnight(date.fromisoformat(settings.SUPPORTDESK_SEASON_START)), None)
    today = timezone.localdate(now or timezone.now())
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = date(today.year, first_month, 1)
    end = date(today.year + 1, 1, 1) if first_month == 10 else date(today.year, first_month + 3, 1)
    return Season(_local_midnight(start), _local_midnight(end))


def _in_season(season: Season, field_name: str) -> Q:
    condition = Q(**{f"{field_name}__gte": season.start})
    if season.end is not None:
        condition &= Q(**{f"{field_name}__lt": season.end})
    return condition


# --- heartbeats --------------------------------------------------------------------------------


def is_active(*, visible: bool, idle_seconds: int | None) -> bool:
    """A heartbeat counts when the page was visible and there was input within IDLE_LIMIT."""
    return visible and idle_seconds is not None and 0 <= idle_seconds <= IDLE_LIMIT.total_seconds()


def record_heartbeat(
    user: User,
    *,
    source: ActivitySource | str,
    at: datetime | None = None,
    visible: bool = True,
    idle_seconds: int | None = 0,
) -> ActivitySpan | None:
    """Count a heartbeat of `user` toward their hours; None when they were not active.

    Extends the span within the gap of `at` (merging spans it bridges) or opens a new one.
    """
    return record_activity(
        user_id=user.pk, source=source, at=at, visible=visible, idle_seconds=idle_seconds
    )


def count_agent_activity(
    *, user_id: int, source: str, visible: bool, idle_seconds: int | None
) -> None:
    """The `agent_active` receiver: the chat console's heartbeat counts like a page's."""
    record_activity(user_id=user_id, source=source, visible=visible, idle_seconds=idle_seconds)


def record_activity(
    *,
    user_id: int,
    source: ActivitySource | str,
    at: datetime | None = None,
    visible: bool = True,
    idle_seconds: int | None = 0,
) -> ActivitySpan | None:
    """`record_heartbeat` by the person's id (see there)."""
    if not is_active(visible=visible, idle_seconds=idle_seconds):
        return None
    at = at or timezone.now()
    gap = activity_gap()
    with transaction.atomic():
        # The person's row is the lock: their spans are read and written by one heartbeat at once.
        User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()
        near = list(
            ActivitySpan.objects.filter(
                user_id=user_id, last_seen_at__gte=at - gap, started_at__lte=at + gap
            ).order_by("started_at")[:10]
        )
        if not near:
            return ActivitySpan.objects.create(
                user_id=user_id,
                started_at=at,
                last_seen_at=at,
                seconds=0,
                heartbeats=1,
                source=source,
            )
        span, others = near[0], near[1:]
        span.started_at = min(span.started_at, at)
        span.last_seen_at = max(span.last_seen_at, at)
        span.heartbeats += 1
        for other in others:
            # `at` bridged two spans less than a gap apart: they are one stretch of work.
            span.last_seen_at = max(span.last_seen_at, other.last_seen_at)
            span.heartbeats += other.heartbeats
        if others:
            ActivitySpan.objects.filter(pk__in=[o.pk for o in others]).delete()
        span.seconds = int((span.last_seen_at - span.started_at).total_seconds())
        span.save(update_fields=["started_at", "last_seen_at", "seconds", "heartbeats"])
        return span


# --- tallies -----------------------------------------------------------------------------------


def seconds_for(user: User, season: Season) -> int:
    total = ActivitySpan.objects.filter(_in_season(season, "started_at"), user=user).aggregate(
        s=Sum("seconds")
    )["s"]
    return int(total or 0)


def hours_for(user: User, season: Season | None = None) -> float:
    return round(seconds_for(user, season or current_season()) / 3600, 2)


def percent_of_goal(seconds: int, goal: int | None = None) -> int:
    goal = goal_hours() if goal is None else goal
    if goal <= 0:
        return 100
    return min(100, int(100 * seconds / (goal * 3600)))


@dataclass
class PersonHours:
    """One person's row on the team page, the report and the API. Sorted by name, never by speed."""

    user_id: int
    name: str
    email: str
    team: str
    trainee: bool
    seconds: int
    goal_hours: int
    tickets_handled: int = 0
    chats_handled: int = 0
    # Information only: how long this person's chats lasted (median, seconds).
    median_chat_seconds: int | None = None

    @property
    def hours(self) -> float:
        return round(self.seconds / 3600, 1)

    @property
    def percent(self) -> int:
        return percent_of_goal(self.seconds, self.goal_hours)

    @property
    def reached(self) -> bool:
        return self.seconds >= self.goal_hours * 3600

    def as_dict(self) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "email": self.email,
            "team": self.team,
            "trainee": self.trainee,
            "hours": self.hours,
            "goal_hours": self.goal_hours,
            "percent": self.percent,
            "tickets_handled": self.tickets_handled,
            "chats_handled": self.chats_handled,
            "median_chat_seconds": self.median_chat_seconds,
        }


def teams() -> list[str]:
    return list(
        User.objects.filter(is_active=True)
        .exclude(team="")
        .order_by("team")
        .values_list("team", flat=True)
        .distinct()[:200]
    )


def tickets_handled(season: Season, user_ids: list[int]) -> dict[int, int]:
    """Tickets each person answered publicly in the season (internal notes are not answers)."""
    rows = (
        Message.objects.filter(
            _in_season(season, "created_at"),
            author_type=AuthorType.AGENT,
            internal=False,
            author_user_id__in=user_ids,
        )
        .values("author_user_id")
        .annotate(n=Count("ticket_id", distinct=True))
        .order_by()
    )
    return {r["author_user_id"]: r["n"] for r in rows}


def chats_handled(season: Season, user_ids: list[int]) -> dict[int, int]:
    """Chats each person wrote in during the season."""
    rows = (
        ChatMessage.objects.filter(
            _in_season(season, "sent_at"),
            author_type=ChatAuthorType.AGENT,
            author_user_id__in=user_ids,
        )
        .values("author_user_id")
        .annotate(n=Count("conversation_id", distinct=True))
        .order_by()
    )
    return {r["author_user_id"]: r["n"] for r in rows}


def chat_lengths(season: Season, user_ids: list[int]) -> dict[int, list[int]]:
    """Seconds each ended chat of the season spent with its agent (joined to ended), by agent."""
    rows = Conversation.objects.filter(
        _in_season(season, "ended_at"), assignee_id__in=user_ids, joined_at__isnull=False
    ).values_list("assignee_id", "joined_at", "ended_at")[:50_000]
    lengths: dict[int, list[int]] = defaultdict(list)
    for assignee_id, joined_at, ended_at in rows:
        if assignee_id is None or joined_at is None or ended_at is None:
            continue  # excluded by the query; the columns are nullable
        lengths[assignee_id].append(max(0, int((ended_at - joined_at).total_seconds())))
    return lengths


def tally(season: Season | None = None, *, team: str = "") -> list[PersonHours]:
    """Every active employee's hours toward the goal (filtered by team), sorted by name."""
    season = season or current_season()
    people = User.objects.filter(is_active=True).order_by("name", "email")
    if team:
        people = people.filter(team=team)
    people_list = list(people.only("id", "name", "email", "team", "is_trainee")[:MAX_PEOPLE])
    ids = [p.pk for p in people_list]
    seconds = dict(
        ActivitySpan.objects.filter(_in_season(season, "started_at"), user_id__in=ids)
        .values("user_id")
        .annotate(s=Sum("seconds"))
        .order_by()
        .values_list("user_id", "s")
    )
    tickets = tickets_handled(season, ids)
    chats = chats_handled(season, ids)
    lengths = chat_lengths(season, ids)
    goal = goal_hours()
    return [
        PersonHours(
            user_id=p.pk,
            name=p.display_name,
            email=p.email,
            team=p.team,
            trainee=p.is_trainee,
            seconds=int(seconds.get(p.pk) or 0),
            goal_hours=goal,
            tickets_handled=tickets.get(p.pk, 0),
            chats_handled=chats.get(p.pk, 0),
            median_chat_seconds=int(statistics.median(lengths[p.pk])) if lengths[p.pk] else None,
        )
        for p in people_list
    ]


def person_hours(user: User, season: Season | None = None) -> PersonHours:
    season = season or current_season()
    lengths = chat_lengths(season, [user.pk]).get(user.pk, [])
    return PersonHours(
        user_id=user.pk,
        name=user.display_name,
        email=user.email,
        team=user.team,
        trainee=user.is_trainee,
        seconds=seconds_for(user, season),
        goal_hours=goal_hours(),
        tickets_handled=tickets_handled(season, [user.pk]).get(user.pk, 0),
        chats_handled=chats_handled(season, [user.pk]).get(user.pk, 0),
        median_chat_seconds=int(statistics.median(lengths)) if lengths else None,
    )


def hours_by_week(user: User, season: Season | None = None) -> list[tuple[date, float]]:
    """(Monday, hours) for every week of the season up to now that has activity, oldest first."""
    season = season or current_season()
    spans = ActivitySpan.objects.filter(_in_season(season, "started_at"), user=user).values_list(
        "started_at", "seconds"
    )[:20_000]
    weeks: dict[date, int] = defaultdict(int)
    for started_at, seconds in spans:
        day = timezone.localdate(started_at)
        weeks[day - timedelta(days=day.weekday())] += seconds
    return [(week, round(weeks[week] / 3600, 1)) for week in sorted(weeks)]


# --- handle time (information only) -------------------------------------------------------------


def format_duration(value: timedelta | int | None) -> str:
    """A short human duration: "45 s", "12 min", "2 h 5 min", "3 d 4 h"."""
    if value is None:
        return "\u2013"
    seconds = int(value.total_seconds()) if isinstance(value, timedelta) else int(value)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class TicketHandleTime:
    first_response: timedelta | None  # created to the first public agent reply
    time_to_solve: timedelta | None  # created to solved (None while unsolved)


def ticket_handle_time(ticket: Ticket) -> TicketHandleTime:
    first_reply = (
        Message.objects.filter(ticket=ticket, author_type=AuthorType.AGENT, internal=False)
        .order_by("created_at", "id")
        .values_list("created_at", flat=True)
        .first()
    )
    return TicketHandleTime(
        first_response=max(first_reply - ticket.created_at, timedelta(0)) if first_reply else None,
        time_to_solve=(
            max(ticket.solved_at - ticket.created_at, timedelta(0)) if ticket.solved_at else None
        ),
    )


@dataclass(frozen=True)
class ChatHandleTime:
    with_agent: timedelta | None  # joined to ended (to now while the chat goes on)
    first_answer: timedelta | None  # the visitor's first line to the first agent line
    ongoing: bool


def chat_handle_time(conversation: Conversation, *, now: datetime | None = None) -> ChatHandleTime:
    now = now or timezone.now()
    firsts = ChatMessage.objects.filter(conversation=conversation).aggregate(
        visitor=_first_sent(ChatAuthorType.VISITOR), agent=_first_sent(ChatAuthorType.AGENT)
    )
    first_answer = None
    if firsts["visitor"] is not None and firsts["agent"] is not None:
        first_answer = max(firsts["agent"] - firsts["visitor"], timedelta(0))
    ongoing = conversation.ended_at is None
    with_agent = None
    if conversation.joined_at is not None:
        with_agent = max((conversation.ended_at or now) - conversation.joined_at, timedelta(0))
    return ChatHandleTime(with_agent=with_agent, first_answer=first_answer, ongoing=ongoing)


def describe_chat_handle_time(handle: ChatHandleTime) -> str:
    """One plain line for the console's pane header, e.g. "with an agent 12 min · first answer 40 s"."""
    parts = []
    if handle.with_agent is not None:
        parts.append(
            f"with an agent {format_duration(handle.with_agent)}{' so far' if handle.ongoing else ''}"
        )
    if handle.first_answer is not None:
        parts.append(f"first answer {format_duration(handle.first_answer)}")
    return " · ".join(parts)


def _first_sent(author_type: str) -> Min:
    return Min("sent_at", filter=Q(author_type=author_type))


CHAT_BUCKETS = [
    (5 * 60, "under 5 min"),
    (15 * 60, "5 to 15 min"),
    (60 * 60, "15 to 60 min"),
    (3 * 3600, "1 to 3 h"),
    (None, "3 h or more"),
]
RESPONSE_BUCKETS = [
    (3600, "under 1 h"),
    (4 * 3600, "1 to 4 h"),
    (24 * 3600, "4 to 24 h"),
    (None, "a day or more"),
]


@dataclass
class Distribution:
    """How many values fell in each bucket: a shape to look at, not a score."""

    rows: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.rows)

    @property
    def bars(self) -> list[tuple[str, int, int]]:
        total = self.total
        return [(label, n, round(100 * n / total) if total else 0) for label, n in self.rows]


def _distribute(values: list[int], buckets: list[tuple[int | None, str]]) -> Distribution:
    counts = [0] * len(buckets)
    for value in values:
        for index, (limit, _) in enumerate(buckets):
            if limit is None or value < limit:
                counts[index] += 1
                break
    return Distribution([(label, counts[i]) for i, (_, label) in enumerate(buckets)])


def chat_length_distribution(user: User, season: Season | None = None) -> Distribution:
    season = season or current_season()
    return _distribute(chat_lengths(season, [user.pk]).get(user.pk, []), CHAT_BUCKETS)


def first_response_distribution(user: User, season: Season | None = None) -> Distribution:
    """For each ticket this person answered in the season: ticket created to their first reply."""
    season = season or current_season()
    rows = (
        Message.objects.filter(
            _in_season(season, "created_at"),
            author_type=AuthorType.AGENT,
            internal=False,
            author_user=user,
        )
        .values("ticket_id", "ticket__created_at")
        .annotate(first_at=Min("created_at"))
        .order_by()[:5000]
    )
    values = [max(0, int((r["first_at"] - r["ticket__created_at"]).total_seconds())) for r in rows]
    return _distribute(values, RESPONSE_BUCKETS)
