"""Scheduled follow-ups, chat escalations and proactive care outreach set to "next business
morning": the first opening after today under the business hours, on the page and the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from care.models import CareTask
from hours import services
from livechat import services as chat
from tests import factories
from tickets.models import FollowUp

WEEK = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
FRIDAY_EVENING = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 in Madrid
MONDAY_NINE_MADRID = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def friday_evening(cast, time_machine) -> datetime:
    services.set_hours(timezone="Europe/Madrid", week=WEEK, holidays=[], by=cast.dave)
    time_machine.move_to(FRIDAY_EVENING, tick=True)
    return FRIDAY_EVENING


def _post_json(client: Client, url: str, body: dict):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _agent(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_api_takes_next_business_morning_and_still_takes_a_time(
    friday_evening, api_client
) -> None:
    ticket = factories.TicketFactory()
    url = f"/api/v1/tickets/{ticket.pk}/follow-ups"
    morning = _post_json(api_client, url, {"send_at": "next_business_morning", "body": "Any news?"})
    assert morning.status_code == 201, morning.content
    assert datetime.fromisoformat(morning.json()["send_at"]) == MONDAY_NINE_MADRID

    at = FRIDAY_EVENING + timedelta(days=2)
    timed = _post_json(api_client, url, {"send_at": at.isoformat(), "body": "Sunday note"})
    assert timed.status_code == 201
    assert datetime.fromisoformat(timed.json()["send_at"]) == at

    bad = _post_json(api_client, url, {"send_at": "next tuesday", "body": "?"})
    assert bad.status_code == 422
    assert FollowUp.objects.filter(ticket=ticket).count() == 2


def test_the_ticket_page_offers_it_with_its_time_and_schedules_it(friday_evening, cast) -> None:
    ticket = factories.TicketFactory()
    client = _agent(cast.alice)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'value="next_business_morning"' in page
    assert 'datetime="2026-12-07T08:00:00+00:00"' in page

    response = client.post(
        f"/tickets/{ticket.pk}/follow-ups",
        {"when": "next_business_morning", "body": "Checking in as promised."},
    )
    assert response.status_code == 302, response.content
    follow_up = FollowUp.objects.get(ticket=ticket)
    assert follow_up.send_at == MONDAY_NINE_MADRID
    assert follow_up.created_by == cast.alice


def test_the_ticket_page_still_needs_a_time_when_at_is_chosen(friday_evening, cast) -> None:
    ticket = factories.TicketFactory()
    response = _agent(cast.alice).post(
        f"/tickets/{ticket.pk}/follow-ups", {"when": "at", "send_at": "", "body": "Hi"}
    )
    assert response.status_code == 400
    assert "Pick a time, or the next business morning." in response.content.decode()
    assert not FollowUp.objects.exists()


def test_care_outreach_goes_out_the_next_business_morning(friday_evening, cast) -> None:
    customer = factories.CustomerFactory(name="Rosa Diaz", email="rosa@shop.example")
    ticket = factories.TicketFactory(customer=customer, type="care", care_key="shipment:1")
    CareTask.objects.create(ticket=ticket, reason="past_promised", detail="Promised Tuesday.")
    client = _agent(cast.alice)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Reach out next business morning" in page
    assert "Hello Rosa Diaz," in page

    response = client.post(
        f"/tickets/{ticket.pk}/follow-ups",
        {"when": "next_business_morning", "body": "Hello Rosa, your parcel is late; a gift."},
    )
    assert response.status_code == 302
    assert FollowUp.objects.get(ticket=ticket).send_at == MONDAY_NINE_MADRID


def test_a_chat_escalates_with_a_follow_up_next_business_morning(
    friday_evening, cast, api_client
) -> None:
    conversation, _ = chat.start_session(name="Ben", email="ben@shop.example")
    chat.post_message(conversation.pk, author_type="visitor", body="Email me the size chart")
    chat.join_conversation(conversation.pk, agent=cast.alice)
    response = _post_json(
        api_client,
        f"/api/v1/chats/{conversation.pk}/escalate",
        {"note": "I will check with the warehouse.", "follow_up_at": "next_business_morning"},
    )
    assert response.status_code == 201, response.content
    follow_up = FollowUp.objects.get(ticket_id=response.json()["ticket_id"])
    assert follow_up.send_at == MONDAY_NINE_MADRID
