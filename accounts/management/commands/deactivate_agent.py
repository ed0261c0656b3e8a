from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.cutoff import deactivate_agent
from accounts.models import User
from audit.context import acting


class Command(BaseCommand):
    help = (
        "Cut an employee off at once: sessions end, API tokens answer 401, open agent sockets "
        "close on every server process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(email=options["email"].strip().lower())
        except User.DoesNotExist:
            raise CommandError(f"No user with email {options['email']}") from None
        with acting(via="command"):
            deactivate_agent(user)
        self.stdout.write(f"Deactivated {user.email}")
