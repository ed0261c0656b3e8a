"""The team page, a person's page, the API, the reports chart and handle time on the ticket page."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from livechat import services as chat
from team import services
from team.models import ActivitySource
from tests import factories
from tickets import services as tickets


def _work(user, minutes: int) -> None:
    start = timezone.now() - timedelta(hours=6)
    for second in range(0, minutes * 60 + 1, 60):
        services.record_heartbeat(
            user, source=ActivitySource.PAGE, at=start + timedelta(seconds=second)
        )


def _chat(agent, *, minutes: int, email: str) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=False) as traveller:
        conversation, _ = chat.start_session(name="Visitor", email=email)
        chat.post_message(conversation.pk, author_type="visitor", body="Hello", client_id="v")
        chat.join_conversation(conversation.pk, agent=agent)
        chat.post_message(conversation.pk, author_type="agent", body="Hi", author_user=agent)
        traveller.shift(timedelta(minutes=minutes))
        chat.end_conversation(conversation.pk, by=agent)


def test_team_page_shows_everyones_hours_toward_the_goal_sorted_by_name(client, cast):
    # Bob is quick and Alice takes her time; the page lists them by name, never by speed.
    _chat(cast.alice, minutes=90, email="a@shop.example")
    _chat(cast.bob, minutes=3, email="b@shop.example")
    _work(cast.alice, 90)
    client.force_login(cast.bob)
    response = client.get("/team/")
    assert response.status_code == 200
    html = response.content.decode()
    table = html.split("<tbody>")[1]
    order = re.findall(r"(Alice Agent|Bob Builder|Carol Manager|Dave Admin)", table)
    assert list(dict.fromkeys(order)) == [
        "Alice Agent",
        "Bob Builder",
        "Carol Manager",
        "Dave Admin",
    ]
    assert "1.5 h" in html and "of 10 h (15%)" in html
    assert '<progress max="100" value="15"' in html
    assert "(information)" in html
    assert "1 h 30 min" in html and "3 min" in html
    for word in ("rank", "fastest", "slowest", "leaderboard"):
        assert word not in html.lower()
    # Only your own page and (for managers) everyone's are linked.
    assert f'href="/team/{cast.bob.pk}/"' in html
    assert f'href="/team/{cast.alice.pk}/"' not in html


def test_team_page_filters_by_team(client, cast):
    factories.AgentFactory(name="Fiona Finance", team="Finance")
    client.force_login(cast.alice)
    html = client.get("/team/?team=Finance").content.decode()
    table = html.split("<tbody>")[1]
    assert "Fiona Finance" in table and "Alice Agent" not in table
    assert '<option value="Finance" selected>' in html


def test_team_page_needs_login(client):
    assert client.get("/team/").status_code == 302


def test_person_page_for_the_person_and_managers_only(client, cast):
    _work(cast.alice, 30)
    _chat(cast.alice, minutes=20, email="c@shop.example")
    customer = factories.CustomerFactory()
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(customer=customer, subject="Gift wrap?", body_text="?")
    )
    tickets.add_agent_reply(ticket, by=cast.alice, body_text="Of course")
    client.force_login(cast.alice)
    response = client.get(f"/team/{cast.alice.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hours by week" in html and "<svg" in html
    assert '<strong class="tickets-handled">1</strong>' in html
    assert '<strong class="chats-handled">1</strong>' in html
    assert 'Handle time <span class="muted">(information)</span>' in html
    assert "15 to 60 min" in html
    assert "Customer ratings" in html  # the CSAT summary, included from the csat app
    client.force_login(cast.bob)
    assert client.get(f"/team/{cast.alice.pk}/").status_code == 403
    client.force_login(cast.carol)
    assert client.get(f"/team/{cast.alice.pk}/").status_code == 200


def test_api_lists_hours_with_goal_and_season(api_client, cast):
    _work(cast.bob, 60)
    cast.bob.team = "Support"
    cast.bob.save(update_fields=["team"])
    response = api_client.get("/api/v1/team/hours")
    assert response.status_code == 200
    body = response.json()
    assert body["goal_hours"] == 10
    assert body["season_start"] == services.current_season().start.date().isoformat()
    names = [i["name"] for i in body["items"]]
    assert names == sorted(names)
    bob = next(i for i in body["items"] if i["name"] == "Bob Builder")
    assert (bob["hours"], bob["percent"], bob["team"]) == (1.0, 10, "Support")
    filtered = api_client.get("/api/v1/team/hours?team=Support").json()
    assert [i["name"] for i in filtered["items"]] == ["Bob Builder"]


def test_api_needs_auth(client, cast):
    assert client.get("/api/v1/team/hours").status_code == 401


def test_reports_show_all_hands_hours(client, cast):
    _work(cast.alice, 120)
    client.force_login(cast.carol)
    html = client.get("/reports/").content.decode()
    assert "All-hands hours" in html
    assert "Support hours this season (goal 10 h each)" in html
    assert "Alice Agent: 2.00 h" in html


def test_ticket_page_shows_handle_time_and_trainee_badge(client, cast):
    trainee = factories.AgentFactory(name="Tina Trainee", is_trainee=True)
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False) as traveller:
        customer = factories.CustomerFactory()
        ticket, _ = tickets.create_ticket(
            tickets.NewTicket(customer=customer, subject="Returns", body_text="How?")
        )
        traveller.shift(timedelta(minutes=7))
        tickets.add_agent_reply(ticket, by=trainee, body_text="Here is how")
    client.force_login(cast.alice)
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "handle time (information): first response 7 min" in html
    assert '<span class="badge trainee">trainee</span>' in html


def test_chat_handle_time_over_the_api(api_client, cast):
    conversation, _ = chat.start_session(name="Lee", email="lee@shop.example")
    body = api_client.get(f"/api/v1/team/chats/{conversation.pk}/handle-time").json()
    assert body == {
        "with_agent_seconds": None,
        "first_answer_seconds": None,
        "ongoing": True,
        "text": "",
    }
    chat.post_message(conversation.pk, author_type="visitor", body="Hi", client_id="x")
    chat.join_conversation(conversation.pk, agent=cast.alice)
    chat.post_message(conversation.pk, author_type="agent", body="Hey", author_user=cast.alice)
    body = api_client.get(f"/api/v1/team/chats/{conversation.pk}/handle-time").json()
    assert body["ongoing"] is True and body["first_answer_seconds"] is not None
    assert body["text"].startswith("with an agent") and "so far" in body["text"]
