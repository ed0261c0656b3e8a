"""Demo teams for chat routing: Returns and Wholesale, with the demo agents in them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import User
from teams import services
from teams.models import Team

DEMO_TEAMS = [
    # name, page prefixes (the routing rule), members' emails
    ("Returns", ["/returns/"], ["alice@demo.supportdesk", "bob@demo.supportdesk"]),
    ("Wholesale", ["/wholesale/"], ["bob@demo.supportdesk", "carol@demo.supportdesk"]),
]


class Command(BaseCommand):
    help = "Create the demo teams (Returns, Wholesale) once."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, prefixes, emails in DEMO_TEAMS:
            if Team.objects.filter(name=name).exists():
                continue
            members = list(User.objects.filter(email__in=emails).values_list("pk", flat=True))
            services.create_team(name=name, page_prefixes=prefixes, member_ids=members, by=None)
        self.stdout.write(
            "Teams: Returns, Wholesale (/demo/shop/?team=returns starts a chat for Returns)."
        )
