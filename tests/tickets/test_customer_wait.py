"""Customer-wait targets and the inbox's triage columns: when a customer will have waited too long
(business vs calendar hours), due times recomputed on every change, the "Waiting longest" view,
the last-message preview and the unread state per agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from hours import services as hours_services
from tests import factories
from tickets import selectors, services, waits
from tickets.models import Priority, Status, Ticket

# A Friday, 16:00 UTC.
FRIDAY_4PM = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def targets(settings):
    settings.SUPPORTDESK_FIRST_RESPONSE_TARGETS = "urgent=1h,normal=8h,low=24h,chat=30m"
    settings.SUPPORTDESK_RESOLUTION_TARGETS = "urgent=8h,normal=2d,chat:urgent=2h"


def _customer_ticket(**kwargs) -> Ticket:
    customer = factories.CustomerFactory()
    ticket, _ = services.create_ticket(
        services.NewTicket(
            customer=customer,
            subject=kwargs.pop("subject", "Where is my parcel?"),
            body_text=kwargs.pop("body_text", "It has been a week."),
            channel=kwargs.pop("channel", "email"),
            **kwargs,
        )
    )
    ticket.refresh_from_db()
    return ticket


def test_targets_pick_the_most_specific_key(targets) -> None:
    assert waits.targets_for(priority="normal", channel="email").first_response == timedelta(
        hours=8
    )
    assert waits.targets_for(priority="urgent", channel="chat").first_response == timedelta(
        minutes=30
    )
    assert waits.targets_for(priority="urgent", channel="chat").resolution == timedelta(hours=2)
    assert waits.targets_for(priority="high", channel="email") == waits.Targets(None, None)


def test_a_malformed_target_is_refused() -> None:
    with pytest.raises(waits.TargetsError):
        waits.parse_targets("normal=eight hours")
    assert waits.parse_targets(" low = 2d , chat=15m") == {
        "low": timedelta(days=2),
        "chat": timedelta(minutes=15),
    }


def test_without_business_hours_targets_count_calendar_hours(cast, targets) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()

    assert ticket.first_response_due_at == FRIDAY_4PM + timedelta(hours=8)  # Saturday 00:00
    assert ticket.resolution_due_at == FRIDAY_4PM + timedelta(days=2)


def test_with_business_hours_targets_count_open_hours_only(cast, targets) -> None:
    hours_services.set_hours(timezone="UTC", week=WEEKDAYS_9_TO_5, holidays=[], by=cast.dave)
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()

    # One open hour on Friday, seven on Monday: Monday 16:00.
    assert ticket.first_response_due_at == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    # Two days = 48 open hours = six 8-hour days: Fri 1h + Mon-Fri 40h + next Mon 7h.
    assert ticket.resolution_due_at == datetime(2026, 12, 14, 16, 0, tzinfo=UTC)


def test_business_hours_skip_holidays_and_follow_the_shop_timezone(cast) -> None:
    hours = hours_services.Hours(
        timezone="Europe/Madrid", week=WEEKDAYS_9_TO_5, holidays=["2026-12-07"]
    )
    # Friday 16:00 Madrid (15:00 UTC): one hour on Friday, Monday is a holiday, then Tuesday.
    start = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    due = hours_services.add_business_time(start, timedelta(hours=3), hours)
    assert due == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Madrid


def test_due_times_are_recomputed_on_priority_channel_and_status(cast, targets) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()
        services.set_priority(ticket, priority=Priority.URGENT, by=cast.alice)
        ticket.refresh_from_db()
        assert ticket.first_response_due_at == FRIDAY_4PM + timedelta(hours=1)
        assert ticket.resolution_due_at == FRIDAY_4PM + timedelta(hours=8)

        services.change_ticket(
            ticket, by=cast.alice, changes=services.TicketChanges(channel="chat")
        )
        ticket.refresh_from_db()
        assert ticket.first_response_due_at == FRIDAY_4PM + timedelta(minutes=30)
        assert ticket.resolution_due_at == FRIDAY_4PM + timedelta(hours=2)

        services.set_status(ticket, status=Status.SOLVED, by=cast.alice)
        ticket.refresh_from_db()
        assert (ticket.first_response_due_at, ticket.resolution_due_at) == (None, None)

        services.set_status(ticket, status=Status.OPEN, by=cast.alice)
        ticket.refresh_from_db()
        assert ticket.resolution_due_at == FRIDAY_4PM + timedelta(hours=2)


def test_an_agent_reply_ends_the_first_response_wait_and_the_customer_waits_again(
    cast, targets
) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()
    assert ticket.customer_waiting_since == FRIDAY_4PM

    with time_machine.travel(FRIDAY_4PM + timedelta(hours=2), tick=False):
        services.add_agent_reply(ticket, by=cast.alice, body_text="It is on its way.")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == FRIDAY_4PM + timedelta(hours=2)
    assert ticket.first_response_due_at is None
    assert ticket.resolution_due_at == FRIDAY_4PM + timedelta(days=2)
    assert ticket.customer_waiting_since is None  # answered, and now pending
    assert ticket.last_message_preview == "It is on its way."

    later = FRIDAY_4PM + timedelta(hours=5)
    with time_machine.travel(later, tick=False):
        services.add_customer_message(ticket, customer=ticket.customer, body_text="Still nothing")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.customer_waiting_since == later
    assert ticket.first_response_due_at is None  # the first reply was given

    # An internal note is not an answer: the customer still waits, the preview is unchanged.
    services.add_agent_reply(ticket, by=cast.alice, body_text="Check the carrier", internal=True)
    ticket.refresh_from_db()
    assert ticket.customer_waiting_since == later
    assert ticket.last_message_preview == "Still nothing"


def test_care_tasks_and_spam_run_no_target(cast, targets) -> None:
    care = _customer_ticket(type="care")
    spam = _customer_ticket(spam=True)
    assert (care.first_response_due_at, care.resolution_due_at) == (None, None)
    assert (spam.first_response_due_at, spam.resolution_due_at) == (None, None)


def test_the_preview_is_one_line_and_short(cast) -> None:
    ticket = _customer_ticket(body_text="Hello,\n\n  my order   " + "x" * 300)
    assert ticket.last_message_preview.startswith("Hello, my order xxx")
    assert len(ticket.last_message_preview) == services.PREVIEW_LENGTH
    assert ticket.last_message_preview.endswith("\u2026")


def test_waiting_longest_lists_open_waits_oldest_first_across_pages(cast) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    made = []
    for hours_ago in (3, 1, 5, 2, 4):
        with time_machine.travel(start - timedelta(hours=hours_ago), tick=False):
            made.append((hours_ago, _customer_ticket(subject=f"waiting {hours_ago}h")))
    answered = made[0][1]
    services.add_agent_reply(answered, by=cast.alice, body_text="On it")  # 3h: answered
    solved = made[1][1]
    services.set_status(solved, status=Status.SOLVED, by=cast.alice)  # 1h: solved

    waiting = selectors.InboxFilters(view="waiting")
    first = selectors.ticket_page(user=cast.alice, filters=waiting, limit=2)
    second = selectors.ticket_page(
        user=cast.alice, filters=waiting, limit=2, cursor=first.next_cursor
    )

    subjects = [row.subject for row in first.items + second.items]
    assert subjects == ["waiting 5h", "waiting 4h", "waiting 2h"]
    assert second.next_cursor is None


def test_the_api_shows_waits_and_lists_the_waiting_view(cast, api_client, targets) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()

    detail = api_client.get(f"/api/v1/tickets/{ticket.pk}").json()
    listed = api_client.get("/api/v1/tickets?view=waiting").json()["items"]
    schema = api_client.get("/api/v1/openapi.json").json()["components"]["schemas"]["TicketOut"]

    assert detail["first_response_due_at"].startswith("2026-12-05T00:00:00")
    assert detail["customer_waiting_since"].startswith("2026-12-04T16:00:00")
    assert detail["last_message_preview"] == "It has been a week."
    assert [item["id"] for item in listed] == [ticket.pk]
    assert listed[0]["resolution_due_at"].startswith("2026-12-06T16:00:00")
    for field in ("first_response_due_at", "resolution_due_at", "customer_waiting_since"):
        assert field in schema["properties"]


def test_unread_is_per_agent_until_they_open_the_ticket(cast) -> None:
    ticket = _customer_ticket(subject="Unread one")
    alice, bob = Client(), Client()
    alice.force_login(cast.alice)
    bob.force_login(cast.bob)

    def row_of(client) -> str:
        page = client.get("/inbox/?view=open").content.decode()
        start = page.index(f'data-ticket-id="{ticket.pk}"')
        return page[start : page.index("</tr>", start)]

    assert "unread" in row_of(alice) and "unread" in row_of(bob)
    alice.get(f"/tickets/{ticket.pk}/")
    assert "unread" not in row_of(alice)
    assert "unread" in row_of(bob)

    services.add_customer_message(ticket, customer=ticket.customer, body_text="Any news?")
    assert "unread" in row_of(alice)  # a new customer message after she looked
    assert "Any news?" in row_of(alice)


def test_the_ticket_page_says_when_the_customer_will_have_waited_too_long(cast, targets) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()
    client = Client()
    client.force_login(cast.alice)

    with time_machine.travel(FRIDAY_4PM + timedelta(hours=10), tick=False):
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert "Customer waiting since" in page
    assert "Customer waited too long for a first reply since" in page
    assert "Customer will have waited too long for a resolution at" in page


def test_the_inbox_row_shows_the_wait_and_marks_it_too_long(cast, targets) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()
    client = Client()
    client.force_login(cast.alice)

    with time_machine.travel(FRIDAY_4PM + timedelta(hours=3), tick=False):
        fresh = client.get("/inbox/?view=waiting").content.decode()
    with time_machine.travel(FRIDAY_4PM + timedelta(hours=9), tick=False):
        late = client.get("/inbox/?view=waiting").content.decode()

    assert f'data-ticket-id="{ticket.pk}"' in fresh
    assert '<span class="waited" title="Customer waiting since' in fresh and ">3h<" in fresh
    assert '<span class="waited late"' in late and "(waited too long)" in late


def test_the_reports_page_charts_how_long_customers_waited(cast, targets) -> None:
    now = datetime.now(UTC)
    quick, slow, waiting = (_customer_ticket(subject=s) for s in ("Quick", "Slow", "Waiting"))
    Ticket.objects.filter(pk=quick.pk).update(
        created_at=now - timedelta(hours=2),
        first_responded_at=now - timedelta(hours=1, minutes=30),
        customer_waiting_since=None,
        status=Status.PENDING,
    )
    Ticket.objects.filter(pk=slow.pk).update(
        created_at=now - timedelta(days=2),
        first_responded_at=now - timedelta(days=1),
        solved_at=now - timedelta(hours=1),
        status=Status.SOLVED,
    )
    Ticket.objects.filter(pk=waiting.pk).update(first_response_due_at=now - timedelta(minutes=1))
    client = Client()
    client.force_login(cast.carol)

    html = client.get("/reports/").content.decode()

    section = html[html.index('id="customer-wait"') :]
    section = section[: section.index('id="csat-trend"')]
    assert "How long customers waited for a first reply" in section
    assert "under 1 hour: 1 tickets" in section  # quick: 30 minutes
    first_chart = section[: section.index("How long customers waited for a resolution")]
    assert "1 to 3 days: 1 tickets" in first_chart  # slow: a day exactly
    assert "Waiting for an answer now: 1, of whom 1 waited longer than the target" in section
    assert "agent" not in section.lower()  # the customer's wait, never a figure per agent


def test_a_follow_up_sent_in_a_batch_answers_the_waiting_customer(cast, targets) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        ticket = _customer_ticket()
        services.schedule_follow_up(
            ticket, by=cast.alice, send_at=FRIDAY_4PM, body="Your parcel left today."
        )
    with time_machine.travel(FRIDAY_4PM + timedelta(minutes=5), tick=False):
        assert services.send_due_follow_ups(batch_size=10) == 1

    ticket.refresh_from_db()
    assert ticket.first_responded_at == FRIDAY_4PM + timedelta(minutes=5)
    assert ticket.first_response_due_at is None
    assert ticket.customer_waiting_since is None
    assert ticket.resolution_due_at == FRIDAY_4PM + timedelta(days=2)
    assert ticket.last_message_preview == "Your parcel left today."
