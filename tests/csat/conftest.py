from __future__ import annotations

import pytest

from customers.services import customer_for_email
from tickets import services as tickets
from tickets.models import Ticket


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    """The test client speaks plain http; the production profile's https redirect is for
    deployments (live servers get SECURE_SSL_REDIRECT=false from tests/conftest.py too)."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def eager_celery():
    """Run the after-commit delivery task in this process, as the embedded profile does."""
    from supportdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def customer_ticket(db, cast) -> Ticket:
    """Pat's email ticket, answered by alice (the agent credited with its rating)."""
    customer = customer_for_email("pat@shop.example", name="Pat Customer")
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(
            customer=customer,
            subject="Size chart",
            body_text="Which size is EU 43?",
            channel="email",
            message_id="<first@shop.example>",
        )
    )
    tickets.add_agent_reply(ticket, by=cast.alice, body_text="EU 43 is US 10.")
    return Ticket.objects.get(pk=ticket.pk)
