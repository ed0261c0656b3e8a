"""The periodic jobs: each app registers the sweeps that claim its due rows.

`manage.py sweep`, Celery beat (production) and the embedded `serve` thread all call `run_all()`,
so every periodic rule runs the same way on every profile. A sweep must be safe to run concurrently
with itself (claim rows with SKIP LOCKED) and bounded in the work it does per call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Sweep = Callable[[], int]
_registry: dict[str, Sweep] = {}


def register(name: str) -> Callable[[Sweep], Sweep]:
    def decorator(func: Sweep) -> Sweep:
        _registry[name] = func
        return func

    return decorator


def registered() -> dict[str, Sweep]:
    # Importing the apps' sweep modules registers them.
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("sweeps")
    return dict(_registry)


def run_all() -> dict[str, int]:
    """Run each sweep once; one failing sweep is logged and does not stop the others."""
    results: dict[str, int] = {}
    for name, func in registered().items():
        try:
            results[name] = func()
        except Exception:
            log.exception("Sweep %s failed", name)
            results[name] = -1
    return results
