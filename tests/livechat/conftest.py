from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run after-commit Celery tasks (mail delivery) in this process.

    tests/conftest.py sets SUPPORTDESK_CELERY_EAGER after the settings were loaded, so the flag
    is set on the Celery app itself.
    """
    from supportdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
