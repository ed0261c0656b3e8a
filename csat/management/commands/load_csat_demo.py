"""Demo CSAT history for `make demo`: twelve weeks of rated tickets, so /reports/ shows a trend."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from csat import services
from csat.models import Survey
from customers.models import Customer
from tickets import services as tickets
from tickets.models import Ticket

COMMENTS = {
    5: ["Fast and friendly, thank you!", "Above and beyond. I'll be back.", "Perfect, thanks."],
    4: ["Good help, the reply took a day.", "Sorted quickly."],
    3: ["OK in the end.", ""],
    2: ["I had to write twice.", ""],
    1: ["Still waiting for my refund.", ""],
}
SUBJECTS = ["Where is my parcel?", "Exchange for a bigger size", "Gift wrap", "Return label"]


class Command(BaseCommand):
    help = "Load demo CSAT ratings (after load_demo) once."

    def handle(self, *args: Any, **options: Any) -> None:
        if Survey.objects.filter(rating__isnull=False).exists():
            self.stdout.write("CSAT demo data already loaded.")
            return
        agents = list(
            User.objects.filter(email__endswith="@demo.supportdesk", role="agent").order_by("id")
        )
        customers = list(Customer.objects.order_by("id")[:12])
        if not agents or not customers:
            self.stdout.write("Run load_demo first: no demo agents or customers.")
            return
        rng = random.Random(6)
        now = timezone.now()
        with transaction.atomic():
            for i in range(48):
                weeks_ago = 11 - i % 12
                agent, customer = agents[i % len(agents)], customers[i % len(customers)]
                ticket, _ = tickets.create_ticket(
                    tickets.NewTicket(
                        customer=customer, subject=rng.choice(SUBJECTS), body_text="Hello!"
                    )
                )
                tickets.change_ticket(
                    ticket,
                    by=agent,
                    changes=tickets.TicketChanges(status="solved", reassign=True, assignee=agent),
                )
                survey = services.request_for_ticket(ticket, send_email=False)
                if survey is None:
                    continue
                # Ratings improve over the weeks, so the chart has a trend to show.
                rating = max(1, min(5, round(rng.gauss(4.0 - 0.12 * weeks_ago, 0.7))))
                services.record_rating(
                    services.issue_token(survey), rating, rng.choice(COMMENTS[rating])
                )
                # History: move the rows back in time (the services only ever record "now").
                when = now - timedelta(weeks=weeks_ago, days=rng.randint(0, 5), hours=i)
                Survey.objects.filter(pk=survey.pk).update(requested_at=when, rated_at=when)
                Ticket.objects.filter(pk=ticket.pk).update(
                    created_at=when - timedelta(hours=5), updated_at=when, solved_at=when
                )
        self.stdout.write(self.style.SUCCESS("CSAT demo data loaded."))
