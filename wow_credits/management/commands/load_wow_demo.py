"""WOW demo data: grants, stories and celebrations for the wall and reports, through the services.

Run after `load_demo` (it uses its agents and orders); running it again changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from customers.models import Order
from wow_credits import services
from wow_credits.models import Story

# (agent index, grant kind, amount, reason, story title, story text, values)
WOWS = [
    (
        0,
        "overnight_reship",
        None,
        "Shoes for a wedding went to the wrong address",
        "The best man's shoes",
        "Sam's shoes went to the wrong house the day before the wedding. "
        "Alice sent a new pair overnight, refunded the order and made him a VIP.",
        ["deliver-wow-through-service", "be-passionate-and-determined"],
    ),
    (
        1,
        "discount_code",
        "20",
        "Out of stock before a race",
        "A race-day rescue",
        "Omar's trail runners were out of stock; Bob sent a code and pointed "
        "him to our sister store that had them the same day.",
        ["be-adventurous-creative-and-open-minded", "build-open-and-honest-relationships"],
    ),
    (
        2,
        "gift",
        "24",
        "Wrong color socks: keep them, grey ones on us",
        "Pink socks forever",
        "Kim got pink socks instead of grey. Tina (on her first phone shift "
        "from Finance) sent grey ones free and told her to keep the pink.",
        ["create-fun-and-a-little-weirdness", "be-humble"],
    ),
    (
        0,
        "refund",
        "45",
        "Buckle broke on the first day",
        "No need to send it back",
        "Lee's belt broke on day one; a full refund, no return needed.",
        ["do-more-with-less"],
    ),
]


class Command(BaseCommand):
    help = "Load WOW demo data (grants, stories, celebrations) once, after load_demo."

    def handle(self, *args: Any, **options: Any) -> None:
        if Story.objects.exists():
            self.stdout.write("WOW demo data already loaded.")
            return
        agents = list(User.objects.filter(email__endswith="@demo.supportdesk").order_by("id"))
        orders = list(Order.objects.select_related("customer").order_by("id"))
        if len(agents) < 4 or not orders:
            self.stdout.write("Run load_demo first: no demo agents or orders.")
            return
        with transaction.atomic():
            for i, (who, kind, amount, reason, title, text, values) in enumerate(WOWS):
                order = orders[i % len(orders)]
                grant, _ = services.grant(
                    kind,
                    by=agents[who],
                    order=order,
                    customer=order.customer,
                    amount=Decimal(amount) if amount else None,
                    reason=reason,
                    idempotency_key=f"demo-{i}",
                )
                story = services.nominate_story(
                    by=agents[(who + 1) % 3],
                    title=title,
                    story=text,
                    values=values,
                    grant_ids=[grant.pk],
                    subject_user=agents[who],
                )
                for fan in agents[: 2 + i % 3]:
                    services.celebrate(story, by=fan)
            services.grant(
                "coworker_bonus",
                by=agents[3],
                recipient=agents[2],
                amount=Decimal("25"),
                reason="Took her first phone shift in the holiday rush",
                idempotency_key="demo-bonus",
            )
        self.stdout.write(self.style.SUCCESS("WOW demo data loaded."))
