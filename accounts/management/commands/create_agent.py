from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.models import Role
from accounts.services import create_agent


class Command(BaseCommand):
    help = "Create (or update) an employee account with a role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
        parser.add_argument("--password", help="Omit to create an account that cannot log in yet.")
        parser.add_argument("--name", default="")
        parser.add_argument("--team", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        user = create_agent(
            options["email"],
            role=options["role"],
            password=options["password"],
            name=options["name"],
            team=options["team"],
        )
        self.stdout.write(f"{user.email} is a {user.role}")
