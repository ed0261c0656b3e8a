"""Demo support hours: past agent sessions replayed as heartbeats through team.services."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import User
from team import services
from team.models import ActivitySource, ActivitySpan

# email -> hours of support this season so far (one above the goal, the rest on their way).
HOURS = {
    "alice@demo.supportdesk": 11.0,
    "bob@demo.supportdesk": 7.5,
    "tina@demo.supportdesk": 4.0,
    "carol@demo.supportdesk": 2.5,
    "admin@demo.supportdesk": 1.0,
}
BEAT = timedelta(minutes=2)


class Command(BaseCommand):
    help = "Give the demo agents past support sessions this season (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(7)
        now = timezone.now()
        season = services.current_season(now=now)
        for email, hours in HOURS.items():
            user = User.objects.filter(email=email).first()
            if user is None or ActivitySpan.objects.filter(user=user).exists():
                continue
            left = timedelta(hours=hours)
            day = 1
            while left > timedelta(0):
                length = min(left, timedelta(minutes=rng.choice([45, 60, 90, 120])))
                start = (now - timedelta(days=day)).replace(
                    hour=rng.choice([9, 10, 13, 14, 15]), minute=0, second=0, microsecond=0
                )
                if start < season.start:
                    # Early in a season: the rest is one session that ends now.
                    start = max(season.start, now - left)
                    length = now - start
                    left = length
                at = start
                while at <= start + length:
                    services.record_heartbeat(user, source=ActivitySource.DEMO, at=at)
                    at += BEAT
                left -= length
                day += 1
        self.stdout.write("Demo support hours loaded.")
