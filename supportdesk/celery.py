"""The Celery app. Durable work lives in rows; beat runs the sweeps that claim due rows."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def schedule_sweeps(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.SUPPORTDESK_SWEEP_SECONDS),
        sender.signature("supportdesk.sweep"),
        name="sweep",
    )
