"""Optionally per team: a team may have its own business hours (its chats follow them); a team
without them follows the shop's. API `?team=`, the admin page, the widget session of a chat
with a team, and "next business morning" for a team."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from audit.models import AuditEntry
from hours import services
from teams.models import Team

SHOP_WEEK = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
EVERY_DAY = {day: [["00:00", "24:00"]] for day in services.DAYS}
FRIDAY_EVENING = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 in Madrid


@pytest.fixture
def teams(cast) -> dict[str, Team]:
    services.set_hours(timezone="Europe/Madrid", week=SHOP_WEEK, holidays=[], by=cast.dave)
    return {
        "returns": Team.objects.create(name="Returns", slug="returns"),
        "wholesale": Team.objects.create(name="Wholesale", slug="wholesale"),
    }


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _put(client: Client, body: object, query: str = ""):
    return client.put(
        f"/api/v1/business-hours{query}", data=json.dumps(body), content_type="application/json"
    )


def test_a_team_gets_its_own_hours_and_others_keep_the_shops(teams, cast) -> None:
    admin = _as(cast.dave)
    body = {"timezone": "America/New_York", "week": EVERY_DAY, "holidays": ["2027-01-01"]}
    saved = _put(admin, body, "?team=returns")
    assert saved.status_code == 200, saved.content
    assert (saved.json()["team"], saved.json()["own_hours"]) == ("returns", True)

    public = Client()
    returns = public.get("/api/v1/business-hours?team=returns").json()
    assert returns["timezone"] == "America/New_York" and returns["holidays"] == ["2027-01-01"]
    wholesale = public.get("/api/v1/business-hours?team=wholesale").json()
    assert (wholesale["timezone"], wholesale["own_hours"]) == ("Europe/Madrid", False)
    shop = public.get("/api/v1/business-hours").json()
    assert (shop["timezone"], shop["team"]) == ("Europe/Madrid", None)
    assert AuditEntry.objects.filter(action="business_hours.set").count() == 2

    assert public.get("/api/v1/business-hours?team=nope").status_code == 404
    assert _put(admin, body, "?team=nope").status_code == 404
    assert _put(_as(cast.alice), body, "?team=wholesale").status_code == 403
    bad = _put(admin, {**body, "week": {"mon": [["10:00", "09:00"]]}}, "?team=wholesale")
    assert bad.status_code == 422 and bad.json()["code"] == "inverted_range"
    assert not services.has_own_hours(teams["wholesale"])

    dropped = admin.delete("/api/v1/business-hours?team=returns")
    assert dropped.status_code == 200
    assert (dropped.json()["own_hours"], dropped.json()["timezone"]) == (False, "Europe/Madrid")
    assert admin.delete("/api/v1/business-hours").status_code == 422  # the shop's stay
    assert _as(cast.alice).delete("/api/v1/business-hours?team=wholesale").status_code == 403


def test_the_widget_session_of_a_chat_with_a_team_uses_its_hours(teams, cast, time_machine) -> None:
    services.set_hours(
        timezone="Europe/Madrid", week=EVERY_DAY, holidays=[], by=cast.dave, team=teams["returns"]
    )
    time_machine.move_to(FRIDAY_EVENING, tick=True)

    def session(**extra) -> dict:
        response = Client().post(
            "/api/v1/widget/sessions",
            data=json.dumps({"name": "Ana", "email": "ana@shop.example", **extra}),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        return response.json()

    returns = session(team="returns")
    assert (returns["team"], returns["open"]) == ("returns", True)
    shop = session()
    assert shop["open"] is False and shop["next_open_at"].startswith("2026-12-07T08:00")
    wholesale = session(team="wholesale")  # no hours of its own: the shop's
    assert wholesale["open"] is False


def test_next_business_morning_for_a_team(teams, cast) -> None:
    services.set_hours(
        timezone="UTC", week={"sat": [["10:00", "12:00"]]}, holidays=[], by=cast.dave,
        team=teams["wholesale"],
    )  # fmt: skip
    friday = FRIDAY_EVENING
    shop = services.next_business_morning(services.current(), at=friday)
    team = services.next_business_morning(
        services.current(team_id=teams["wholesale"].pk), at=friday
    )
    assert shop == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert team == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def test_the_admin_page_edits_a_teams_hours(teams, cast) -> None:
    admin = _as(cast.dave)
    page = admin.get("/hours/?team=wholesale").content.decode()
    assert "Business hours: Wholesale" in page and "follows the shop's hours" in page
    saved = admin.post(
        "/hours/?team=wholesale", {"timezone": "Europe/Berlin", "mon": "08:00-12:00"}
    )
    assert saved.status_code == 302 and saved["Location"] == "/hours/?team=wholesale"
    assert services.current(team_id=teams["wholesale"].pk).timezone == "Europe/Berlin"
    assert services.current().timezone == "Europe/Madrid"
    assert "Use the shop's hours" in admin.get("/hours/?team=wholesale").content.decode()
    admin.post("/hours/?team=wholesale", {"use_shop_hours": "1"})
    assert not services.has_own_hours(teams["wholesale"])
    assert admin.get("/hours/?team=nope").status_code == 404
