"""Agents find care tasks in their inbox ("Care tasks", "My care tasks"), in the API, and on the
ticket page with the reason and the suggested WOW preselected in the grant dialog."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import issue_api_token
from care.services import sweep_care
from customers.models import ShipmentStatus
from livechat.services import agent_connected
from tests import factories
from tickets import services as ticket_services
from tickets.models import Status, Ticket, TicketType


def _late_shipment(external_id: str):
    return factories.ShipmentFactory(
        order__external_id=external_id,
        status=ShipmentStatus.IN_TRANSIT,
        promised_by=timezone.now() - timedelta(hours=3),
        last_scan_at=timezone.now() - timedelta(hours=1),
    )


@pytest.fixture
def care_tasks(cast) -> dict[str, Ticket]:
    """Two late shipments: alice (online) gets the first task, bob the second."""
    agent_connected(cast.alice)
    agent_connected(cast.bob)
    _late_shipment("SHOP-1")
    _late_shipment("SHOP-2")
    sweep_care()
    factories.TicketFactory(subject="An ordinary question", assignee=cast.alice, status="open")
    tasks = {t.order.external_id: t for t in Ticket.objects.filter(type=TicketType.CARE)}
    assert tasks["SHOP-1"].assignee == cast.alice and tasks["SHOP-2"].assignee == cast.bob
    return tasks


def _subjects(html: str) -> set[str]:
    return {unescape(s) for s in re.findall(r'<a href="/tickets/\d+/">([^<]+)</a>', html)}


@pytest.mark.django_db
def test_the_care_views_list_care_tasks_and_mine(cast, care_tasks):
    client = Client()
    client.force_login(cast.alice)

    everyone = client.get("/inbox/", {"view": "care"}).content.decode()
    mine = client.get("/inbox/", {"view": "my_care"}).content.decode()

    assert _subjects(everyone) == {
        "Your order SHOP-1 is running late",
        "Your order SHOP-2 is running late",
    }
    assert _subjects(mine) == {"Your order SHOP-1 is running late"}
    assert "Care tasks" in everyone and "My care tasks" in everyone
    assert 'class="badge care"' in everyone


@pytest.mark.django_db
def test_a_solved_care_task_leaves_the_care_views(cast, care_tasks):
    ticket_services.set_status(care_tasks["SHOP-1"], status=Status.SOLVED, by=cast.alice)
    client = Client()
    client.force_login(cast.alice)

    html = client.get("/inbox/", {"view": "care"}).content.decode()

    assert _subjects(html) == {"Your order SHOP-2 is running late"}


@pytest.mark.django_db
def test_the_api_lists_care_tasks_by_type_and_view(cast, care_tasks, api_client):
    by_type = api_client.get("/api/v1/tickets", {"type": "care"}).json()
    my_care = api_client.get("/api/v1/tickets", {"view": "my_care"}).json()

    assert {t["subject"] for t in by_type["items"]} == {
        "Your order SHOP-1 is running late",
        "Your order SHOP-2 is running late",
    }
    assert all(t["type"] == "care" for t in by_type["items"])
    assert [t["id"] for t in my_care["items"]] == [care_tasks["SHOP-1"].pk]


@pytest.mark.django_db
def test_the_ticket_json_carries_the_reason_and_suggested_wow(cast, care_tasks, api_client):
    ticket = care_tasks["SHOP-1"]

    body = api_client.get(f"/api/v1/tickets/{ticket.pk}").json()

    assert body["care"]["reason"] == "past_promised"
    assert body["care"]["suggested_grant"] == "reroute_overnight"
    assert body["care"]["order_external_id"] == "SHOP-1"
    assert body["care"]["resolved_at"] is None
    plain = factories.TicketFactory()
    assert api_client.get(f"/api/v1/tickets/{plain.pk}").json()["care"] is None


@pytest.mark.django_db
def test_the_ticket_page_shows_the_problem_and_prefills_the_grant_dialog(cast, care_tasks):
    ticket = care_tasks["SHOP-1"]
    client = Client()
    client.force_login(cast.alice)

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    [dialog_url] = re.findall(r'hx-get="(/wow/grant\?[^"]+)"', page)
    dialog = client.get(unescape(dialog_url)).content.decode()

    assert 'id="care-task"' in page and "Past the promised delivery date" in page
    assert "Suggested WOW" in page and "Reroute to overnight" in page
    assert "kind=reroute_overnight" in unescape(dialog_url)
    assert 'value="reroute_overnight" aria-pressed="true"' in dialog
    assert "Proactive care: Past the promised delivery date</textarea>" in dialog


def test_over_http_get_tickets_type_care_lists_the_tasks(cast, live_server):
    """The contract's own words, against daphne: GET /api/v1/tickets?type=care."""
    _late_shipment("SHOP-HTTP")
    sweep_care()
    token = issue_api_token(cast.alice)
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/tickets?type=care",
        headers={"Authorization": f"Bearer {token}"},
    )

    with urllib.request.urlopen(request, timeout=15) as response:
        body = json.loads(response.read())

    assert [t["subject"] for t in body["items"]] == ["Your order SHOP-HTTP is running late"]
    assert body["items"][0]["type"] == "care"
