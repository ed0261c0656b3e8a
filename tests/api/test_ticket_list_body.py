"""`GET /api/v1/tickets` builds its body as plain dicts (tickets/api.py, for speed); it must be the
body ninja made from `TicketPage` and the models: same keys, order, values and JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import CustomerEmail, CustomerKind, Tier
from supportdesk.api import api
from tests import factories
from tickets import services
from tickets.api import TicketPage
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_list_body_is_what_the_schema_made_of_the_models(api_client, cast):
    now = timezone.now()
    vendor = factories.CustomerFactory(kind=CustomerKind.VENDOR, tier=Tier.VIP)
    nameless = factories.CustomerFactory(name="")
    CustomerEmail.objects.filter(customer=nameless).update(is_primary=False)
    CustomerEmail.objects.create(customer=nameless, address="later@shop.example")
    for i, customer in enumerate([vendor, nameless, vendor]):
        ticket = factories.TicketFactory(customer=customer, assignee=cast.bob if i else None)
        services.set_tags(ticket, ["zeta", "alpha"] if i != 1 else [])
        # Microseconds, which the JSON encoder cuts to milliseconds.
        Ticket.objects.filter(pk=ticket.pk).update(
            updated_at=now - timedelta(minutes=i, microseconds=123_456)
        )

    response = api_client.get("/api/v1/tickets?limit=2")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    tickets = list(
        Ticket.objects.select_related("customer")
        .prefetch_related("tags", "customer__emails")
        .order_by("-updated_at", "-id")
    )
    body = response.json()
    expected = TicketPage.model_validate(
        {"items": tickets[:2], "next_cursor": body["next_cursor"]}
    ).model_dump()
    assert body["next_cursor"]
    assert response.content.decode() == api.renderer.render(None, expected, response_status=200)
