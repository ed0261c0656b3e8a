from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.services import CustomerError, issue_shop_token


class Command(BaseCommand):
    help = (
        "Issue an integration token for the shop's sync (POST /api/v1/orders); "
        "the token is the last line printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Which shop or integration uses it, e.g. 'shopify-main'")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token, raw = issue_shop_token(options["name"])
        except CustomerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Shop token {token.name!r} (shown once, store it now):")
        self.stdout.write(raw)
