from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import ALL_SCOPES, User
from accounts.services import issue_api_token


def _expiry(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--expires must be an ISO date or datetime, got {value!r}") from None
    if len(value) == 10:  # a date: the end of that day
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Issue a new API token for an employee; the token is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="What the token is for")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ALL_SCOPES,
            help="Repeat for several (default: every scope the person's role allows)",
        )
        parser.add_argument("--expires", help="ISO date or datetime after which it answers 401")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(email=options["email"].strip().lower())
        except User.DoesNotExist:
            raise CommandError(f"No user with email {options['email']}") from None
        expires_at = _expiry(options["expires"]) if options["expires"] else None
        try:
            token = issue_api_token(
                user, name=options["name"], scopes=options["scope"], expires_at=expires_at
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Token for {user.email} (shown once, store it now):")
        self.stdout.write(token)
