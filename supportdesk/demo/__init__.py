"""Demo loaders: each app may define `<app>/demo.py` that appends a loader here.

A loader is `def load(*, agents: list[User], customers: list[Customer]) -> None`, called by
`manage.py load_demo` after the tickets and orders exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

loaders: list[Callable[..., Any]] = []
