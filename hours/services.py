"""Business hours: validate and store them, and answer "open now?" and "open again when?".

A week is open ranges per weekday in the shop's timezone; holidays are whole local days. The
default when nothing is stored is always open (a shop that set no hours is never "away").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db import transaction
from django.utils import timezone as dj_timezone

from accounts.models import User
from audit.services import record
from hours.models import BusinessHours
from teams.models import Team

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
MAX_RANGES_PER_DAY = 6
MAX_HOLIDAYS = 400


class HoursError(ValueError):
    def __init__(
        self, detail: str, *, code: str = "invalid_hours", field: str = "", status: int = 422
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Hours:
    timezone: str
    week: dict[str, list[list[str]]]
    holidays: list[str]

    @property
    def always_open(self) -> bool:
        return not self.week


def _minutes(value: str, *, where: str) -> int:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise HoursError(f"{where}: {value!r} is not a time like 09:00", field="week")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def clean_timezone(value: str) -> str:
    try:
        if value not in available_timezones():
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise HoursError(
            f"Unknown timezone {value!r} (use an IANA name like Europe/Madrid)",
            code="invalid_timezone",
            field="timezone",
        ) from None
    return value


def clean_week(week: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Ranges sorted per day; 422 for an unknown day, a bad time, a range that ends before it
    starts, or two ranges that overlap."""
    cleaned: dict[str, list[list[str]]] = {}
    for day, ranges in week.items():
        if day not in DAYS:
            raise HoursError(f"Unknown day {day!r}; use {', '.join(DAYS)}", field="week")
        if len(ranges) > MAX_RANGES_PER_DAY:
            raise HoursError(f"{day}: at most {MAX_RANGES_PER_DAY} ranges", field="week")
        spans = []
        for pair in ranges:
            if len(pair) != 2:
                raise HoursError(f"{day}: each range is [start, end]", field="week")
            start = _minutes(pair[0], where=day)
            end = _minutes(pair[1], where=day)
            if end <= start:
                raise HoursError(
                    f"{day}: {pair[0]}-{pair[1]} ends before it starts",
                    code="inverted_range",
                    field="week",
                )
            spans.append((start, end, [pair[0], pair[1]]))
        spans.sort()
        for (_, end, first), (start, _, second) in pairwise(spans):
            if start < end:
                raise HoursError(
                    f"{day}: {first[0]}-{first[1]} and {second[0]}-{second[1]} overlap",
                    code="overlapping_ranges",
                    field="week",
                )
        if spans:
            cleaned[day] = [s[2] for s in spans]
    return cleaned


def clean_holidays(values: list[str]) -> list[str]:
    if len(values) > MAX_HOLIDAYS:
        raise HoursError(f"At most {MAX_HOLIDAYS} holidays", field="holidays")
    days = set()
    for value in values:
        try:
            days.add(date.fromisoformat(value).isoformat())
        except (TypeError, ValueError):
            raise HoursError(
                f"{value!r} is not a date like 2026-12-25", code="invalid_holiday", field="holidays"
            ) from None
    return sorted(days)


def current(*, team_id: int | None = None) -> Hours:
    """The hours that apply: team `team_id`'s own when it has them, else the shop's."""
    rows = BusinessHours.objects.filter(team__isnull=True)
    if team_id is not None:
        own = BusinessHours.objects.filter(team_id=team_id).first()
        if own is not None:
            return Hours(timezone=own.timezone, week=own.week, holidays=own.holidays)
    row = rows.order_by("pk").first()
    if row is None:
        return Hours(timezone="UTC", week={}, holidays=[])
    return Hours(timezone=row.timezone, week=row.week, holidays=row.holidays)


def has_own_hours(team: Team) -> bool:
    return BusinessHours.objects.filter(team=team).exists()


def team_by_slug(slug: str) -> Team:
    """The team a `?team=` names; HoursError 404 `unknown_team` for any other value."""
    # A slug is letters, digits, - and _: anything else (a NUL byte too) names no team.
    team = Team.objects.filter(slug=slug).first() if slug and _SLUG.match(slug) else None
    if team is None:
        raise HoursError(f"No team {slug[:50]!r}", code="unknown_team", field="team", status=404)
    return team


def set_hours(
    *,
    timezone: str,
    week: dict[str, list[list[str]]],
    holidays: list[str],
    by: User | None,
    team: Team | None = None,
) -> Hours:
    """Store the shop's hours, or `team`'s own (from then on its chats follow them)."""
    hours = Hours(
        timezone=clean_timezone(timezone), week=clean_week(week), holidays=clean_holidays(holidays)
    )
    with transaction.atomic():
        rows = BusinessHours.objects.select_for_update()
        rows = rows.filter(team=team) if team is not None else rows.filter(team__isnull=True)
        row = rows.order_by("pk").first()
        if row is None:
            row = BusinessHours(team=team)
        row.timezone, row.week, row.holidays, row.updated_by = (
            hours.timezone,
            hours.week,
            hours.holidays,
            by,
        )
        row.save()
        record(
            "business_hours.set",
            obj=row,
            actor=by,
            detail={"team": team.slug if team else None, "timezone": hours.timezone},
        )
    return hours


def use_shop_hours(team: Team, *, by: User | None) -> bool:
    """`team` drops its own hours and follows the shop's again; False if it had none."""
    with transaction.atomic():
        deleted = BusinessHours.objects.filter(team=team).delete()[0] > 0
        if deleted:
            record("business_hours.cleared", object_type="team", object_id=team.pk,
                   actor=by, detail={"team": team.slug})  # fmt: skip
    return deleted


def _day_spans(hours: Hours, day: date) -> list[tuple[int, int]]:
    if day.isoformat() in hours.holidays:
        return []
    ranges = hours.week.get(DAYS[day.weekday()], [])
    return [(_minutes(a, where="week"), _minutes(b, where="week")) for a, b in ranges]


def is_open(hours: Hours | None = None, *, at: datetime | None = None) -> bool:
    hours = hours or current()
    if hours.always_open:
        return True
    local = (at or dj_timezone.now()).astimezone(ZoneInfo(hours.timezone))
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in _day_spans(hours, local.date()))


def next_open_at(hours: Hours | None = None, *, at: datetime | None = None) -> datetime | None:
    """When the team is open again (now if open now), as an aware datetime; None if never
    (no open range in the next 60 days, e.g. every day closed)."""
    hours = hours or current()
    now = at or dj_timezone.now()
    if is_open(hours, at=now):
        return now
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    for offset in range(0, 60):
        day = local.date() + timedelta(days=offset)
        for start, _end in sorted(_day_spans(hours, day)):
            opening = datetime.combine(day, time(start // 60, start % 60), tzinfo=zone)
            if opening > local:
                return opening.astimezone(UTC)
    return None


def next_business_morning(hours: Hours | None = None, *, at: datetime | None = None) -> datetime:
    """The first opening after today (for follow-ups and outreach set to "next business
    morning"); 09:00 local tomorrow when no hours are set."""
    hours = hours or current()
    now = at or dj_timezone.now()
    zone = ZoneInfo(hours.timezone)
    tomorrow = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), zone)
    if hours.always_open:
        return tomorrow.replace(hour=9)
    return next_open_at(hours, at=tomorrow) or tomorrow.replace(hour=9)


def business_morning(*, team_id: int | None = None) -> datetime:
    """The `next_business_morning` lookup's answer (tickets' follow-ups and care ask it)."""
    return next_business_morning(current(team_id=team_id))


def add_business_time(start: datetime, duration: timedelta, hours: Hours | None = None) -> datetime:
    """The instant `duration` of open time after `start` (calendar time when no hours are set, or
    when the week has no open range within a year: a target is never pushed to "never").

    Used for customer-wait targets: "first reply within 8 business hours" of a Friday 16:00
    message is Monday 16:00 on a 09:00-17:00 week. Arithmetic is done in UTC, so a day that
    changes clocks (DST) still counts the hours that were actually open."""
    hours = hours or current()
    if hours.always_open or duration <= timedelta(0):
        return start + duration
    zone = ZoneInfo(hours.timezone)
    cursor = start.astimezone(UTC)
    remaining = duration
    first_day = start.astimezone(zone).date()
    for offset in range(0, 370):
        day = first_day + timedelta(days=offset)
        for begin_minute, end_minute in sorted(_day_spans(hours, day)):
            opens = _local_instant(day, begin_minute, zone)
            closes = _local_instant(day, end_minute, zone)
            if closes <= cursor:
                continue
            begin = max(opens, cursor)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            cursor = closes
    return start + duration


def business_clock() -> Callable[[datetime, timedelta], datetime]:
    """The `business_clock` lookup's answer: `add_business_time` over the hours read once now."""
    hours = current()
    return lambda start, duration: add_business_time(start, duration, hours)


def _local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """`minute` minutes after local midnight of `day` (1440 = the next midnight), in UTC."""
    if minute >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)
