"""Support hours at the service level: spans, gaps, two sources at once, the goal, the season."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from livechat import services as chat
from team import services
from team.models import ActivitySource, ActivitySpan
from tests import factories
from tickets import services as tickets

PAGE, CONSOLE = ActivitySource.PAGE, ActivitySource.CONSOLE


def _beats(user, start: datetime, minutes: int, *, every: int = 60, source=PAGE) -> None:
    for second in range(0, minutes * 60 + 1, every):
        services.record_heartbeat(user, source=source, at=start + timedelta(seconds=second))


def test_heartbeats_within_the_gap_extend_one_span(cast):
    start = timezone.now() - timedelta(hours=2)
    _beats(cast.alice, start, 30)
    span = ActivitySpan.objects.get(user=cast.alice)
    assert (span.started_at, span.last_seen_at) == (start, start + timedelta(minutes=30))
    assert span.seconds == 30 * 60 and span.heartbeats == 31
    assert services.seconds_for(cast.alice, services.current_season()) == 30 * 60


def test_a_heartbeat_after_the_gap_starts_a_new_span(cast, settings):
    settings.SUPPORTDESK_ACTIVITY_GAP_SECONDS = 300
    start = timezone.now() - timedelta(hours=3)
    _beats(cast.alice, start, 10)
    # Lunch: 20 minutes without a heartbeat is no support time.
    _beats(cast.alice, start + timedelta(minutes=30), 15)
    spans = list(ActivitySpan.objects.filter(user=cast.alice).order_by("started_at"))
    assert [s.seconds for s in spans] == [600, 900]
    assert services.seconds_for(cast.alice, services.current_season()) == 1500


def test_page_and_console_beating_together_count_the_time_once(cast):
    start = timezone.now() - timedelta(hours=1)
    # The page beats every 60 s, the console socket every 30 s, offset: one hour of work.
    _beats(cast.alice, start, 60, every=60, source=PAGE)
    _beats(cast.alice, start + timedelta(seconds=15), 60, every=30, source=CONSOLE)
    span = ActivitySpan.objects.get(user=cast.alice)
    assert span.seconds == 3600 + 15
    assert span.source == PAGE
    assert services.hours_for(cast.alice) == pytest.approx(1.0, abs=0.01)


def test_more_heartbeats_never_add_time(cast):
    at = timezone.now() - timedelta(minutes=10)
    for _ in range(50):
        services.record_heartbeat(cast.alice, source=PAGE, at=at)
    assert services.seconds_for(cast.alice, services.current_season()) == 0


def test_a_late_heartbeat_between_two_spans_joins_them(cast, settings):
    settings.SUPPORTDESK_ACTIVITY_GAP_SECONDS = 300
    start = timezone.now() - timedelta(hours=1)
    _beats(cast.alice, start, 5)
    _beats(cast.alice, start + timedelta(minutes=13), 5)
    assert ActivitySpan.objects.filter(user=cast.alice).count() == 2
    # A beat delayed in the network arrives for minute 9: both stretches are one session.
    services.record_heartbeat(cast.alice, source=CONSOLE, at=start + timedelta(minutes=9))
    span = ActivitySpan.objects.get(user=cast.alice)
    assert span.seconds == 18 * 60


def test_only_active_heartbeats_count(cast):
    assert services.record_heartbeat(cast.alice, source=PAGE, visible=False) is None
    assert services.record_heartbeat(cast.alice, source=PAGE, idle_seconds=301) is None
    assert services.record_heartbeat(cast.alice, source=PAGE, idle_seconds=None) is None
    assert not ActivitySpan.objects.exists()
    assert services.record_heartbeat(cast.alice, source=PAGE, idle_seconds=299) is not None


def test_the_console_socket_heartbeat_counts_unless_away(cast):
    chat.agent_connected(cast.alice)
    chat.agent_heartbeat(cast.alice, status="online", visible=True, idle_seconds=4)
    assert ActivitySpan.objects.filter(user=cast.alice, source=CONSOLE).count() == 1
    chat.agent_heartbeat(cast.bob, status="away", visible=True, idle_seconds=4)
    chat.agent_heartbeat(cast.carol, status="online")  # no activity info: presence only
    assert not ActivitySpan.objects.filter(user__in=[cast.bob, cast.carol]).exists()


def test_goal_and_percent(cast, settings):
    settings.SUPPORTDESK_HOURS_GOAL = 10
    start = timezone.now() - timedelta(hours=5)
    _beats(cast.alice, start, 150, every=120)  # 2.5 hours
    row = next(r for r in services.tally() if r.user_id == cast.alice.pk)
    assert (row.hours, row.goal_hours, row.percent, row.reached) == (2.5, 10, 25, False)
    settings.SUPPORTDESK_HOURS_GOAL = 2
    row = next(r for r in services.tally() if r.user_id == cast.alice.pk)
    assert (row.percent, row.reached) == (100, True)
    assert services.percent_of_goal(0) == 0


def test_season_is_the_calendar_quarter_unless_configured(settings):
    settings.SUPPORTDESK_SEASON_START = ""
    season = services.current_season(now=timezone.make_aware(datetime(2026, 11, 20, 12)))
    assert (season.start.date().isoformat(), season.end.date().isoformat()) == (
        "2026-10-01",
        "2027-01-01",
    )
    season = services.current_season(now=timezone.make_aware(datetime(2026, 5, 2, 12)))
    assert season.start.date().isoformat() == "2026-04-01"
    settings.SUPPORTDESK_SEASON_START = "2026-09-15"
    season = services.current_season()
    assert season.start.date().isoformat() == "2026-09-15" and season.end is None


def test_time_before_the_season_does_not_count(cast, settings):
    settings.SUPPORTDESK_SEASON_START = timezone.localdate().isoformat()
    _beats(cast.alice, timezone.now() - timedelta(days=3), 30)
    _beats(cast.alice, services.current_season().start + timedelta(seconds=1), 10)
    assert services.seconds_for(cast.alice, services.current_season()) == 600


def test_tally_counts_tickets_and_chats_handled_and_is_sorted_by_name(cast):
    customer = factories.CustomerFactory()
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(customer=customer, subject="Boots", body_text="Too big")
    )
    tickets.add_agent_reply(ticket, by=cast.bob, body_text="Swapping them")
    tickets.add_agent_reply(ticket, by=cast.bob, body_text="Shipped", internal=True)
    tickets.add_agent_reply(ticket, by=cast.alice, body_text="Note", internal=True)
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False) as traveller:
        conversation, _ = chat.start_session(name="Sam", email="sam@shop.example")
        chat.post_message(conversation.pk, author_type="visitor", body="Hi", client_id="v1")
        traveller.shift(timedelta(seconds=40))
        chat.join_conversation(conversation.pk, agent=cast.alice)
        chat.post_message(
            conversation.pk, author_type="agent", body="Hello!", author_user=cast.alice
        )
        traveller.shift(timedelta(minutes=25))
        chat.end_conversation(conversation.pk, by=cast.alice)
    rows = {r.user_id: r for r in services.tally()}
    assert (rows[cast.bob.pk].tickets_handled, rows[cast.bob.pk].chats_handled) == (1, 0)
    assert (rows[cast.alice.pk].tickets_handled, rows[cast.alice.pk].chats_handled) == (0, 1)
    assert rows[cast.alice.pk].median_chat_seconds == 25 * 60
    names = [r.name for r in services.tally()]
    assert names == sorted(names)


def test_tally_filters_by_team(cast):
    factories.AgentFactory(name="Fin Ance", team="Finance")
    assert [r.name for r in services.tally(team="Finance")] == ["Fin Ance"]
    assert "Finance" in services.teams()


def test_ticket_handle_time_is_first_response_and_time_to_solve(cast):
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False) as traveller:
        customer = factories.CustomerFactory()
        ticket, _ = tickets.create_ticket(
            tickets.NewTicket(customer=customer, subject="Size?", body_text="?")
        )
        traveller.shift(timedelta(minutes=30))
        tickets.add_agent_reply(ticket, by=cast.alice, body_text="Checking", internal=True)
        traveller.shift(timedelta(minutes=12))
        tickets.add_agent_reply(ticket, by=cast.alice, body_text="It runs small")
        traveller.shift(timedelta(hours=3))
        tickets.set_status(ticket, status="solved", by=cast.alice)
    ticket.refresh_from_db()
    handle = services.ticket_handle_time(ticket)
    assert handle.first_response == timedelta(minutes=42)
    assert handle.time_to_solve == timedelta(hours=3, minutes=42)
    assert services.first_response_distribution(cast.alice).rows[0] == ("under 1 h", 1)


def test_chat_handle_time_is_time_with_an_agent_and_the_first_answer(cast):
    with time_machine.travel(timezone.now() - timedelta(hours=5), tick=False) as traveller:
        conversation, _ = chat.start_session(name="Ben", email="ben@shop.example")
        chat.post_message(conversation.pk, author_type="visitor", body="Lost shoes", client_id="1")
        traveller.shift(timedelta(seconds=90))
        chat.join_conversation(conversation.pk, agent=cast.alice)
        traveller.shift(timedelta(seconds=30))
        chat.post_message(
            conversation.pk, author_type="agent", body="On it", author_user=cast.alice
        )
        traveller.shift(timedelta(hours=3))  # the long call: nothing times out
        chat.end_conversation(conversation.pk, by=cast.alice)
    conversation.refresh_from_db()
    handle = services.chat_handle_time(conversation)
    assert handle.first_answer == timedelta(minutes=2)
    assert handle.with_agent == timedelta(hours=3, seconds=30)
    assert not handle.ongoing
    text = services.describe_chat_handle_time(handle)
    assert text == "with an agent 3 h · first answer 2 min"
    assert services.chat_length_distribution(cast.alice).rows[-1] == ("3 h or more", 1)


def test_format_duration():
    assert [services.format_duration(s) for s in (None, 45, 720, 7500, 7200, 93600)] == [
        "\u2013",
        "45 s",
        "12 min",
        "2 h 5 min",
        "2 h",
        "1 d 2 h",
    ]
