"""Teams: managers keep them (page and API), a chat gets its team from the widget's `team` option
or the page-prefix rule, and a chat can be handed to a team."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.services import issue_api_token
from livechat import services as chat_services
from livechat.models import Conversation, ConversationStatus
from teams import services
from teams.models import Team


def _client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(user)}")


def _send(client: Client, method: str, url: str, payload: dict | None = None):
    return getattr(client, method)(
        url, data=json.dumps(payload or {}), content_type="application/json"
    )


@pytest.fixture
def returns(cast) -> Team:
    return services.create_team(
        name="Returns", member_ids=[cast.alice.pk], page_prefixes=["/returns/"], by=cast.carol
    )


def test_a_manager_creates_a_team_and_every_agent_reads_it(cast):
    manager = _client(cast.carol)
    created = _send(
        manager,
        "post",
        "/api/v1/teams",
        {"name": "Wholesale", "members": [cast.bob.pk], "page_prefixes": ["/wholesale/"]},
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["slug"] == "wholesale" and body["page_prefixes"] == ["/wholesale/"]
    assert [m["id"] for m in body["members"]] == [cast.bob.pk]
    assert body["members"][0]["max_chats"] == 3

    listed = _client(cast.alice).get("/api/v1/teams").json()["items"]
    assert [t["name"] for t in listed] == ["Wholesale"]


def test_an_agent_may_not_change_teams_or_capacity(cast, returns):
    agent = _client(cast.alice)
    assert _send(agent, "post", "/api/v1/teams", {"name": "Mine"}).status_code == 403
    assert _send(agent, "patch", f"/api/v1/teams/{returns.pk}", {"name": "X"}).status_code == 403
    refused = _send(agent, "patch", f"/api/v1/teams/agents/{cast.alice.pk}", {"max_chats": 9})
    assert refused.status_code == 403
    assert Team.objects.get(pk=returns.pk).name == "Returns"


def test_bad_team_input_is_refused_clearly(cast, returns):
    manager = _client(cast.carol)
    duplicate = _send(manager, "post", "/api/v1/teams", {"name": "Returns"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"
    unknown = _send(manager, "post", "/api/v1/teams", {"name": "Ghosts", "members": [999999]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_agent"
    prefix = _send(manager, "post", "/api/v1/teams", {"name": "P", "page_prefixes": ["no slash"]})
    assert prefix.status_code == 422 and prefix.json()["code"] == "invalid_prefix"
    too_many = _send(manager, "patch", f"/api/v1/teams/agents/{cast.bob.pk}", {"max_chats": 51})
    assert too_many.status_code == 422
    assert not Team.objects.filter(name__in=["Ghosts", "P"]).exists()


def test_a_manager_edits_members_prefixes_and_capacity(cast, returns):
    manager = _client(cast.carol)
    patched = _send(
        manager,
        "patch",
        f"/api/v1/teams/{returns.pk}",
        {"members": [cast.alice.pk, cast.bob.pk], "page_prefixes": ["https://shop.example/rma/"]},
    ).json()
    assert sorted(m["id"] for m in patched["members"]) == sorted([cast.alice.pk, cast.bob.pk])
    assert patched["page_prefixes"] == ["/rma/"]  # a full URL is cut to its path
    capacity = _send(manager, "patch", f"/api/v1/teams/agents/{cast.bob.pk}", {"max_chats": 5})
    assert capacity.status_code == 200 and capacity.json()["max_chats"] == 5
    cast.bob.refresh_from_db()
    assert cast.bob.max_chats == 5
    assert _send(manager, "delete", f"/api/v1/teams/{returns.pk}").status_code == 204
    assert not Team.objects.filter(pk=returns.pk).exists()


def test_the_widget_team_option_and_the_page_rule_give_a_chat_its_team(cast, returns):
    visitor = Client()
    named = _send(
        visitor,
        "post",
        "/api/v1/widget/sessions",
        {"name": "Ben", "team": "returns", "page_url": "http://shop.example/"},
    ).json()
    assert named["team"] == "returns"
    assert Conversation.objects.get(pk=named["conversation_id"]).team == returns

    by_page = _send(
        visitor,
        "post",
        "/api/v1/widget/sessions",
        {"name": "Cy", "page_url": "http://shop.example/returns/form?x=1"},
    ).json()
    assert by_page["team"] == "returns"

    # An unknown slug (a typo in the shop's snippet) falls back to the rule, here: no team.
    typo = _send(
        visitor,
        "post",
        "/api/v1/widget/sessions",
        {"name": "Di", "team": "retruns", "page_url": "http://shop.example/shoes/"},
    )
    assert typo.status_code == 201 and typo.json()["team"] is None


def test_the_longest_prefix_wins(cast, returns):
    shoes = services.create_team(name="Shoe returns", page_prefixes=["/returns/shoes/"], by=None)
    assert services.team_for_chat(page_url="http://x/returns/shoes/42") == shoes
    assert services.team_for_chat(page_url="http://x/returns/bags/1") == returns
    assert services.team_for_chat(page_url="http://x/") is None


def test_transfer_to_a_team_puts_the_chat_back_in_the_queue_as_theirs(cast, returns):
    conversation, _ = chat_services.start_session(name="Ben", email="ben@shop.example")
    chat_services.post_message(conversation.pk, author_type="visitor", body="My parcel?")
    chat_services.join_conversation(conversation.pk, agent=cast.bob)
    response = _send(
        _client(cast.bob),
        "post",
        f"/api/v1/chats/{conversation.pk}/transfer",
        {"to_team_id": returns.pk},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["team"] == "Returns" and body["team_id"] == returns.pk
    assert body["status"] == ConversationStatus.WAITING and body["assignee_id"] is None
    lines = list(
        Conversation.objects.get(pk=conversation.pk).messages.values_list("body", flat=True)
    )
    assert lines[-1] == "Bob Builder handed the chat to the Returns team."
    neither = _send(_client(cast.bob), "post", f"/api/v1/chats/{conversation.pk}/transfer", {})
    assert neither.status_code == 422


def test_the_teams_page_is_for_managers(cast, returns):
    agent = Client()
    agent.force_login(cast.alice)
    assert agent.get("/teams/").status_code == 403
    manager = Client()
    manager.force_login(cast.carol)
    page = manager.get("/teams/")
    assert page.status_code == 200 and b"Returns" in page.content
    created = manager.post(
        "/teams/", {"action": "create", "name": "Wholesale", "members": [str(cast.bob.pk)]}
    )
    assert created.status_code == 302
    assert list(Team.objects.get(slug="wholesale").members.all()) == [cast.bob]
    capacity = manager.post(
        "/teams/", {"action": "capacity", "user_id": str(cast.bob.pk), "max_chats": "4"}
    )
    assert capacity.status_code == 302
    cast.bob.refresh_from_db()
    assert cast.bob.max_chats == 4
    bad = manager.post(
        "/teams/", {"action": "capacity", "user_id": str(cast.bob.pk), "max_chats": "x"}
    )
    assert bad.status_code == 422


def test_a_later_line_of_a_team_chat_names_the_team_from_the_pool(transactional_db, published):
    """Socket lines after the first take the async pool, where nothing may query the ORM: the
    team's name comes back with the statement's row, so the queue entry still shows it."""
    from livechat import asyncdb, queue_previews
    from tests.helpers.chat import run

    services.create_team(name="Returns", by=None)
    conversation, _ = chat_services.start_session(
        name="Ben", email="ben@shop.example", team="returns"
    )
    chat_services.post_message(conversation.pk, author_type="visitor", body="first")
    before = chat_services.line_writes["pool"]

    async def write() -> None:
        try:
            await chat_services.apost_message(
                conversation.pk, author_type="visitor", body="second", client_id="v2"
            )
            await queue_previews.flush()  # the queue entry goes out in this loop's next batch
        finally:
            await asyncdb.close()  # the pool belongs to this loop: closed with it

    def later_line() -> None:
        run(write())

    [batch] = published(["chat-queue"], later_line)
    frames = batch["frame"]["frames"]
    assert asyncdb.available() and chat_services.line_writes["pool"] == before + 1
    assert [(f["action"], f["conversation"]["team"]) for f in frames] == [("waiting", "Returns")]
