from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core import sweeps


class Command(BaseCommand):
    help = "Run every due periodic job once (follow-ups, mail, grants, care, digests) and exit."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in sweeps.run_all().items():
            self.stdout.write(f"{name}: {'failed' if count < 0 else count}")
