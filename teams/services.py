"""Teams and agents' chat capacity: the one way to change them (pages and API call these).

A change that can free room for a waiting chat (a member added, capacity raised) fires the
`chat_capacity_changed` hook after commit; livechat's routing offers waiting chats then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import User
from audit.services import record
from core import hooks
from teams.models import Team

MAX_PREFIXES = 20
MAX_CHATS_LIMIT = 50
_PREFIX = re.compile(r"^/[^\s]{0,199}$")


class TeamError(ValueError):
    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise TeamError("A team needs a name of 1 to 80 characters", code="invalid_name")
    return name


def _clean_slug(slug: str, name: str) -> str:
    value = slugify(slug or name)[:50]
    if not value:
        raise TeamError("The slug needs letters or digits", code="invalid_slug")
    return value


def clean_prefixes(prefixes: Iterable[str]) -> list[str]:
    """Page path prefixes of the routing rule: each starts with "/" (a full URL is cut to its
    path), no spaces, at most 20."""
    cleaned: list[str] = []
    for raw in prefixes:
        value = (raw or "").strip()
        if not value:
            continue
        if "://" in value:
            value = urlsplit(value).path or "/"
        if not _PREFIX.match(value):
            raise TeamError(
                f"A page prefix is a path starting with / (got {value[:40]!r})",
                code="invalid_prefix",
            )
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_PREFIXES:
        raise TeamError(f"At most {MAX_PREFIXES} page prefixes per team", code="invalid_prefix")
    return cleaned


def _members(ids: Sequence[int]) -> list[User]:
    wanted = set(ids)
    found = list(User.objects.filter(pk__in=wanted, is_active=True))
    if len(found) != len(wanted):
        missing = sorted(wanted - {u.pk for u in found})
        raise TeamError(f"No such active agent: {missing[:5]}", code="unknown_agent")
    return found


def create_team(
    *,
    name: str,
    by: User | None,
    slug: str = "",
    member_ids: Sequence[int] = (),
    page_prefixes: Iterable[str] = (),
) -> Team:
    name = _clean_name(name)
    slug = _clean_slug(slug, name)
    prefixes = clean_prefixes(page_prefixes)
    members = _members(member_ids)
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, slug=slug, page_prefixes=prefixes)
            team.members.set(members)
            record(
                "team.created",
                obj=team,
                actor=by,
                detail={"slug": slug, "members": sorted(m.pk for m in members)},
            )
            for member in members:
                hooks.chat_capacity_changed.fire_on_commit(user_id=member.pk)
    except IntegrityError:
        raise TeamError("A team with that name or slug exists", code="duplicate") from None
    return team


def update_team(
    team: Team,
    *,
    by: User | None,
    name: str | None = None,
    slug: str | None = None,
    member_ids: Sequence[int] | None = None,
    page_prefixes: Iterable[str] | None = None,
) -> Team:
    changes: dict[str, tuple[object, object]] = {}
    try:
        with transaction.atomic():
            locked = Team.objects.select_for_update().get(pk=team.pk)
            if name is not None and _clean_name(name) != locked.name:
                changes["name"] = (locked.name, _clean_name(name))
                locked.name = _clean_name(name)
            if slug is not None and _clean_slug(slug, locked.name) != locked.slug:
                changes["slug"] = (locked.slug, _clean_slug(slug, locked.name))
                locked.slug = _clean_slug(slug, locked.name)
            if page_prefixes is not None:
                prefixes = clean_prefixes(page_prefixes)
                if prefixes != locked.page_prefixes:
                    changes["page_prefixes"] = (locked.page_prefixes, prefixes)
                    locked.page_prefixes = prefixes
            locked.save()
            if member_ids is not None:
                before = set(locked.members.values_list("pk", flat=True))
                members = _members(member_ids)
                after = {m.pk for m in members}
                if after != before:
                    locked.members.set(members)
                    changes["members"] = (sorted(before), sorted(after))
                    for user_id in after - before:
                        hooks.chat_capacity_changed.fire_on_commit(user_id=user_id)
            if changes:
                record("team.updated", obj=locked, actor=by, changes=changes)
    except IntegrityError:
        raise TeamError("A team with that name or slug exists", code="duplicate") from None
    return locked


def delete_team(team: Team, *, by: User | None) -> None:
    """Chats of the team keep going without one (Conversation.team is SET_NULL)."""
    with transaction.atomic():
        record("team.deleted", obj=team, actor=by, detail={"slug": team.slug})
        team.delete()


def set_max_chats(agent: User, *, max_chats: int, by: User | None) -> User:
    """How many open chats routing gives `agent` at once (0: none, e.g. a trainee shadowing)."""
    if isinstance(max_chats, bool) or not isinstance(max_chats, int):
        raise TeamError("max_chats is a whole number", code="invalid")
    if not 0 <= max_chats <= MAX_CHATS_LIMIT:
        raise TeamError(f"max_chats is between 0 and {MAX_CHATS_LIMIT}", code="invalid")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=agent.pk)
        before = locked.max_chats
        if before == max_chats:
            return locked
        locked.max_chats = max_chats
        locked.save(update_fields=["max_chats"])
        record("agent.max_chats", obj=locked, actor=by, changes={"max_chats": (before, max_chats)})
        if max_chats > before:
            hooks.chat_capacity_changed.fire_on_commit(user_id=locked.pk)
    return locked


def team_for_slug(slug: str) -> Team | None:
    value = (slug or "").strip().lower()[:50]
    return Team.objects.filter(slug=value).first() if value else None


@dataclass(frozen=True)
class RuleMatch:
    team: Team
    prefix: str


def team_for_page(page_url: str) -> RuleMatch | None:
    """The routing rule: the team whose page prefix is the longest start of the page's path."""
    if not page_url:
        return None
    try:
        path = urlsplit(page_url).path or "/"
    except ValueError:
        return None
    best: RuleMatch | None = None
    for team in Team.objects.exclude(page_prefixes=[]).only("id", "name", "slug", "page_prefixes"):
        for prefix in team.page_prefixes or []:
            if path.startswith(prefix) and (best is None or len(prefix) > len(best.prefix)):
                best = RuleMatch(team, prefix)
    return best


def team_for_chat(*, slug: str = "", page_url: str = "") -> Team | None:
    """A new chat's team: the widget's `team` option when it names a team, else the routing rule
    (page prefix), else none. An unknown slug falls back to the rule: a typo in a shop's snippet
    must not stop its customers from chatting (the session's answer says which team it got)."""
    named = team_for_slug(slug)
    if named is not None:
        return named
    match = team_for_page(page_url)
    return match.team if match is not None else None
