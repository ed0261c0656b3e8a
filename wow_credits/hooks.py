"""Named hooks of WOW grants, fired inside the transaction of the change (Django signals)."""

from __future__ import annotations

from django.dispatch import Signal

# grant=Grant, change="created" | "executed"
grant_changed = Signal()
