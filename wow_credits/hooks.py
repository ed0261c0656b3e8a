"""Named hooks of WOW grants, fired inside the transaction of the change (Django signals)."""

from __future__ import annotations

from django.dispatch import Signal

# grant=Grant, change="created" | "executed"
grant_changed = Signal()
# story=Story, nominated by its author (not the automatic story of a coworker bonus)
story_nominated = Signal()
