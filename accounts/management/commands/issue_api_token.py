from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import issue_api_token


class Command(BaseCommand):
    help = "Issue a new API token for an employee; the token is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(email=options["email"].strip().lower())
        except User.DoesNotExist:
            raise CommandError(f"No user with email {options['email']}") from None
        token = issue_api_token(user)
        self.stdout.write(f"Token for {user.email} (shown once, store it now):")
        self.stdout.write(token)
