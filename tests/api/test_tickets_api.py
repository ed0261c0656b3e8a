"""The tickets part of the v1 contract, over the real URL conf and Postgres."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.models import OutboundEmail
from tests import factories
from tickets.models import FollowUp, Status, Ticket

pytestmark = pytest.mark.django_db


def test_post_ticket_creates_it_with_the_customer_and_first_message(api_client):
    response = api_client.post(
        "/api/v1/tickets",
        {
            "subject": "Where are my shoes?",
            "body": "Order 1001 has not arrived.",
            "customer": {"email": "Ann@Shop.example", "name": "Ann"},
        },
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["subject"] == "Where are my shoes?"
    assert body["channel"] == "api" and body["type"] == "question" and body["status"] == "new"
    assert body["customer"]["email"] == "ann@shop.example"
    assert [m["body"] for m in body["messages"]] == ["Order 1001 has not arrived."]


def test_invalid_ticket_payload_gets_422_with_detail_and_code(api_client):
    response = api_client.post(
        "/api/v1/tickets",
        {"subject": "", "body": "x", "customer": {"email": "nope"}},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"]


def test_list_pages_by_cursor_without_gaps_or_repeats(api_client):
    customer = factories.CustomerFactory()
    base = timezone.now()
    for i in range(7):
        factories.TicketFactory(
            customer=customer, subject=f"Ticket {i}", updated_at=base - timedelta(minutes=i)
        )

    seen: list[int] = []
    cursor = None
    while True:
        url = "/api/v1/tickets?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api_client.get(url).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 7 == len(set(seen))
    assert seen == list(Ticket.objects.order_by("-updated_at", "-id").values_list("id", flat=True))


def test_list_rejects_a_forged_cursor_and_a_limit_over_200(api_client):
    assert api_client.get("/api/v1/tickets?cursor=not-a-cursor").json()["code"] == "bad_cursor"
    assert api_client.get("/api/v1/tickets?limit=201").status_code == 422


def test_list_filters_by_status_type_and_full_text(api_client):
    customer = factories.CustomerFactory()
    wanted = factories.TicketFactory(
        customer=customer,
        subject="Wedding shoes went to the wrong address",
        type="care",
        status="open",
    )
    wanted.search_document = wanted.subject
    wanted.save()
    factories.TicketFactory(
        customer=customer, subject="Invoice copy", status="solved", search_document="Invoice copy"
    )

    assert [t["id"] for t in api_client.get("/api/v1/tickets?type=care").json()["items"]] == [
        wanted.pk
    ]
    assert [t["id"] for t in api_client.get("/api/v1/tickets?status=open").json()["items"]] == [
        wanted.pk
    ]
    assert [t["id"] for t in api_client.get("/api/v1/tickets?q=wedding shoes").json()["items"]] == [
        wanted.pk
    ]
    # Search syntax from users is data, never an error: quotes, operators and SQL-looking text.
    for hostile in ['"unbalanced', "a & | ! b", "'; DROP TABLE tickets_ticket; --", "-", "(("]:
        assert api_client.get("/api/v1/tickets", {"q": hostile}).status_code == 200


def test_patch_changes_status_priority_assignee_and_tags(api_client, cast):
    ticket = factories.TicketFactory()

    response = api_client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {
            "status": "pending",
            "priority": "high",
            "assignee_id": cast.bob.pk,
            "tags": ["Shoes", "wedding"],
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["assignee_id"]) == (
        "pending",
        "high",
        cast.bob.pk,
    )
    assert body["tags"] == ["shoes", "wedding"]


def test_patch_with_an_unknown_assignee_is_422_and_changes_nothing(api_client):
    ticket = factories.TicketFactory()

    response = api_client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {"assignee_id": 999999, "status": "solved"},
        content_type="application/json",
    )

    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_public_reply_queues_one_email_and_internal_note_none(
    api_client, django_capture_on_commit_callbacks
):
    ticket = factories.TicketFactory()
    factories.MessageFactory(ticket=ticket)

    public = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        {"body": "On its way!"},
        content_type="application/json",
    )
    note = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        {"body": "Called UPS", "internal": True},
        content_type="application/json",
    )

    assert public.status_code == 201 and note.status_code == 201
    assert note.json()["internal"] is True
    assert OutboundEmail.objects.count() == 1
    assert OutboundEmail.objects.get().ticket_message_id == public.json()["id"]


def test_follow_up_is_stored_as_a_row_due_at_send_at(api_client):
    ticket = factories.TicketFactory()
    send_at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)

    response = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/follow-ups",
        {"send_at": send_at.isoformat(), "body": "Checked: size 10 is back."},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert FollowUp.objects.get().send_at == send_at


def test_unknown_ticket_is_404_with_code(api_client):
    response = api_client.get("/api/v1/tickets/987654")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_openapi_schema_describes_the_contract(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/replies",
        "/api/v1/tickets/{ticket_id}/follow-ups",
        "/api/v1/orders",
        "/api/v1/customers/{customer_id}",
    ]:
        assert path in schema["paths"], path
    assert client.get("/api/v1/docs").status_code == 200
