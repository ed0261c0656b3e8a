"""Proactive care (scenario 6): the sweep finds shipments and orders in trouble and opens one
outreach task per problem, assigned round-robin, before the customer notices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from care.models import CareReason, CareTask
from care.services import sweep_care
from core.sweeps import registered, run_all
from customers.models import ShipmentStatus
from livechat.services import agent_connected
from tests import factories
from tickets import services as ticket_services
from tickets.models import Status, Ticket, TicketType

pytestmark = pytest.mark.django_db

ORDER = {
    "external_id": "SHOP-7001",
    "customer": {"email": "sam@shop.example", "name": "Sam Best"},
    "items": [{"name": "Oxford shoes, size 10", "quantity": 1, "price": "180.00"}],
    "total": "180.00",
    "status": "paid",
}


def _late_shipment(**fields):
    defaults = {
        "status": ShipmentStatus.IN_TRANSIT,
        "promised_by": timezone.now() - timedelta(hours=3),
        "last_scan_at": timezone.now() - timedelta(hours=5),
    }
    return factories.ShipmentFactory(**{**defaults, **fields})


def _care_tickets():
    return list(Ticket.objects.filter(type=TicketType.CARE).order_by("id"))


def test_a_late_shipment_opens_exactly_one_care_task_across_repeated_sweeps(cast):
    shipment = _late_shipment(order__external_id="SHOP-1001")

    assert sweep_care() == 1
    assert sweep_care() == 0
    assert sweep_care() == 0

    [ticket] = _care_tickets()
    assert ticket.care_key == f"shipment:{shipment.pk}"
    assert ticket.order_id == shipment.order_id
    assert ticket.customer_id == shipment.order.customer_id
    assert ticket.subject == "Your order SHOP-1001 is running late"
    assert ticket.assignee is not None and ticket.status == Status.OPEN
    task = CareTask.objects.get(ticket=ticket)
    assert task.reason == CareReason.PAST_PROMISED
    assert task.suggested_grant == "reroute_overnight"
    assert task.suggested_grant_label == "Reroute to overnight"
    [note] = ticket.messages.all()
    assert "Reroute to overnight" in note.body_text and "promised by" in note.body_text


def test_a_shipment_without_a_carrier_scan_for_the_window_opens_a_task(cast, settings):
    settings.SUPPORTDESK_CARE_NO_SCAN_HOURS = 24
    silent = _late_shipment(
        promised_by=timezone.now() + timedelta(days=2),
        last_scan_at=timezone.now() - timedelta(hours=30),
    )
    _late_shipment(  # scanned recently: on its way
        promised_by=timezone.now() + timedelta(days=2),
        last_scan_at=timezone.now() - timedelta(hours=2),
    )

    assert sweep_care() == 1

    [ticket] = _care_tickets()
    assert ticket.care_key == f"shipment:{silent.pk}"
    assert ticket.care_task.reason == CareReason.NO_SCAN
    assert ticket.care_task.suggested_grant == "overnight_reship"


def test_delivered_cancelled_and_on_time_shipments_open_nothing(cast):
    past = timezone.now() - timedelta(days=1)
    _late_shipment(status=ShipmentStatus.DELIVERED, promised_by=past)
    _late_shipment(status=ShipmentStatus.CANCELLED, promised_by=past)
    _late_shipment(status=ShipmentStatus.RETURNED, promised_by=past)
    _late_shipment(promised_by=timezone.now() + timedelta(days=1))

    assert sweep_care() == 0
    assert _care_tickets() == []


def test_a_shipment_the_shop_flags_late_through_the_orders_api_opens_a_task(
    shop_client, cast, api_client
):
    shipping = {
        "carrier": "UPS",
        "tracking": "1Z999",
        "status": "late",
        "promised_by": (timezone.now() + timedelta(days=1)).isoformat(),
        "last_scan_at": timezone.now().isoformat(),
    }
    response = shop_client.post(
        "/api/v1/orders", {**ORDER, "shipping": shipping}, content_type="application/json"
    )
    assert response.status_code == 201

    assert sweep_care() == 1

    [ticket] = _care_tickets()
    assert ticket.care_task.reason == CareReason.FLAGGED_LATE
    assert ticket.customer.primary_email == "sam@shop.example"


@pytest.mark.parametrize(
    ("problem", "reason", "suggestion"),
    [
        ("payment", CareReason.PAYMENT, "discount_code"),
        ("address", CareReason.ADDRESS, "reroute_overnight"),
        ("other", CareReason.ORDER_OTHER, "discount_code"),
    ],
)
def test_an_order_problem_reported_through_the_orders_api_opens_a_task(
    shop_client, cast, api_client, problem, reason, suggestion
):
    payload = {**ORDER, "problem": problem, "problem_detail": "Card declined at capture"}
    assert (
        shop_client.post("/api/v1/orders", payload, content_type="application/json").status_code
        == 201
    )

    assert sweep_care() == 1
    assert sweep_care() == 0

    [ticket] = _care_tickets()
    assert ticket.care_key == f"order:{ticket.order_id}:{problem}"
    assert ticket.care_task.reason == reason
    assert ticket.care_task.suggested_grant == suggestion
    assert "Card declined at capture" in ticket.care_task.detail


def test_an_order_with_no_problem_opens_nothing(shop_client, cast, api_client):
    shop_client.post("/api/v1/orders", ORDER, content_type="application/json")

    assert sweep_care() == 0


def test_a_resolved_problem_never_reopens_a_closed_task(cast, api_client):
    shipment = _late_shipment()
    sweep_care()
    [ticket] = _care_tickets()
    ticket_services.set_status(ticket, status=Status.CLOSED, by=cast.alice)

    shipment.status = ShipmentStatus.DELIVERED
    shipment.save()
    sweep_care()
    shipment.status = ShipmentStatus.LATE  # the carrier's data flaps; still the same problem
    shipment.save()
    sweep_care()

    [ticket] = _care_tickets()
    assert ticket.status == Status.CLOSED
    assert ticket.care_task.resolved_at is not None


def test_a_cleared_order_problem_is_marked_resolved_and_the_task_left_alone(
    shop_client, cast, api_client
):
    shop_client.post(
        "/api/v1/orders", {**ORDER, "problem": "payment"}, content_type="application/json"
    )
    sweep_care()
    shop_client.post("/api/v1/orders", ORDER, content_type="application/json")  # paid after all

    sweep_care()

    [ticket] = _care_tickets()
    assert ticket.care_task.resolved_at is not None
    assert ticket.status == Status.OPEN


def test_care_tasks_go_round_robin_to_the_agents_online(cast):
    agent_connected(cast.alice)
    agent_connected(cast.bob)
    for _ in range(4):
        _late_shipment()

    sweep_care()

    assignees = [t.assignee for t in _care_tickets()]
    assert assignees == [cast.alice, cast.bob, cast.alice, cast.bob]


def test_with_nobody_online_care_tasks_go_round_robin_to_active_agents(cast):
    cast.carol.is_active = False
    cast.carol.save()
    trainee = factories.AgentFactory(is_trainee=True)
    for _ in range(4):
        _late_shipment()

    sweep_care()

    assignees = [t.assignee for t in _care_tickets()]
    assert trainee not in assignees and cast.carol not in assignees
    assert sorted(a.pk for a in assignees[:3]) == sorted([cast.alice.pk, cast.bob.pk, cast.dave.pk])
    assert assignees[3] == assignees[0]


def test_the_care_sweep_is_registered_for_manage_py_sweep_and_beat(cast):
    _late_shipment()

    assert "care" in registered()
    assert run_all()["care"] == 1
    assert len(_care_tickets()) == 1


def test_the_demo_has_care_tasks_waiting(db):
    from django.core.management import call_command

    call_command("load_demo")

    tasks = {t.order.external_id: t for t in Ticket.objects.filter(type=TicketType.CARE)}
    assert set(tasks) == {"DEMO-LATE-1", "DEMO-PAY-1"}
    assert tasks["DEMO-LATE-1"].care_task.suggested_grant == "reroute_overnight"
    assert tasks["DEMO-PAY-1"].care_task.reason == CareReason.PAYMENT
    assert all(t.assignee is not None for t in tasks.values())
