"""Demo data for working at volume: saved views, a bulk action and a merged duplicate."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import User
from tickets import bulk, merging, saved_views
from tickets.models import Status, Ticket


class Command(BaseCommand):
    help = "Saved views, a bulk tag and a merged duplicate ticket for the demo (after load_demo)."

    def handle(self, *args: Any, **options: Any) -> None:
        owner = User.objects.filter(is_active=True, role="admin").order_by("id").first()
        agent = User.objects.filter(is_active=True, role="agent").order_by("id").first()
        if owner is None or agent is None:
            self.stdout.write("No demo agents: run load_demo first.")
            return
        saved_views.create_view(
            owner=owner, name="Care tasks to do", filters={"view": "care"}, shared=True
        )
        saved_views.create_view(
            owner=agent,
            name="Web form, open",
            filters={"view": "open", "channel": "web"},
            shared=False,
        )
        open_ids = list(
            Ticket.objects.filter(status__in=[Status.NEW, Status.OPEN], channel="web")
            .order_by("id")
            .values_list("id", flat=True)[:5]
        )
        bulk.bulk_change(ids=open_ids, action="tag", value="web-form", by=agent)
        # The same customer wrote twice about one order: the second ticket is merged into the first.
        oldest = Ticket.objects.order_by("id").first()
        assert oldest is not None  # the tickets created above
        first, second = Ticket.objects.filter(customer=oldest.customer).order_by("id")[:2]
        merging.merge_ticket(second, into=first, by=agent)
        self.stdout.write(
            f"Saved views, a bulk tag on {len(open_ids)} tickets, #{second.pk} merged into #{first.pk}."
        )
