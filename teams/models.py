"""Teams of agents (Returns, Wholesale, ...): a chat can belong to one, and with automatic routing
it goes to an online member of that team (livechat/routing.py).

Low in the layers on purpose (it imports only accounts and core): livechat points at a team, and
other apps (business hours per team) can too. An agent's chat capacity (`User.max_chats`) lives
on the agent, not here: it is the same in every team they belong to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="What the widget's `team` option names."
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    # The routing rule: a chat started on a page whose path begins with one of these (e.g.
    # "/wholesale/") belongs to this team when the widget names no team. Longest prefix wins.
    page_prefixes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Not fields: what the teams page shows in its form (teams/views.py).
    member_ids: set[int]
    prefix_text: str

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
