"""Demo snippets for `make demo`: the facts agents look up most, through the snippet services.

Idempotent: a snippet whose shortcut exists is left as it is.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from snippets import services
from snippets.models import Snippet

DEMO_SNIPPETS = [
    (
        "Size chart (shoes)",
        "size-chart",
        "Our shoe sizes, by foot length:\n"
        "US 7 = EU 40 = 25 cm\nUS 8 = EU 41 = 26 cm\nUS 9 = EU 42 = 27 cm\n"
        "US 10 = EU 43 = 28 cm\nUS 11 = EU 44 = 29 cm\n"
        "Between two sizes? Take the larger one; exchanges are free.",
        ["sizing", "shoes"],
    ),
    (
        "Shipping times",
        "shipping-times",
        "Standard shipping: 3-5 business days. Express: 1-2 business days. Overnight: next "
        "business day when ordered before 2 pm. You get a tracking link by email as soon as the "
        "parcel leaves our warehouse.",
        ["shipping"],
    ),
    (
        "Return rules",
        "return-rules",
        "You can return anything within 60 days, worn or not. Returns are free: we email you a "
        "prepaid label. Refunds go back to the original payment method within 3 business days of "
        "the parcel reaching us.",
        ["returns", "refunds"],
    ),
    (
        "Out of stock: where else to find it",
        "out-of-stock",
        "This item is out of stock with us right now. Our sister store (sister-store.example) and "
        "our partner shops (partners.example/stores) often still have it; we are happy to check "
        "one for you. We can also email you the moment it is back.",
        ["stock"],
    ),
    (
        "Exchange a size",
        "exchange",
        "Exchanges are free: we ship the new size right away, before your return arrives, and "
        "email you a prepaid label for the first pair.",
        ["sizing", "returns"],
    ),
    (
        "Change the delivery address",
        "change-address",
        "We can change the delivery address until the order ships. Once it has shipped, we can ask "
        "the carrier to reroute it (usually within a day).",
        ["shipping"],
    ),
    (
        "Care instructions (leather)",
        "leather-care",
        "Wipe leather with a damp cloth, let it dry away from heat, and use a neutral cream every "
        "few weeks. Suede: a soft brush only, never water.",
        ["care"],
    ),
]


class Command(BaseCommand):
    help = "Load the demo snippets (size chart, shipping times, return rules, ...) once."

    def handle(self, *args: Any, **options: Any) -> None:
        author = User.objects.filter(role=Role.AGENT, is_active=True).order_by("pk").first()
        author = author or User.objects.filter(is_active=True).order_by("pk").first()
        if author is None:
            raise CommandError("Create an agent first (load_demo does).")
        created = 0
        for title, shortcut, body, tags in DEMO_SNIPPETS:
            if Snippet.objects.filter(shortcut=shortcut).exists():
                continue
            services.create_snippet(title=title, shortcut=shortcut, body=body, tags=tags, by=author)
            created += 1
        self.stdout.write(f"Demo snippets: {created} created.")
