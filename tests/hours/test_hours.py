"""Business hours: validation (422 for overlapping or inverted ranges), open now / open again,
holidays in any year, the public GET and admin PUT, and the widget session's new fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from hours import services

WEEK = {
    day: [["09:00", "13:00"], ["14:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
}


def _put(client: Client, body: object):
    return client.put(
        "/api/v1/business-hours", data=json.dumps(body), content_type="application/json"
    )


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def madrid(cast) -> services.Hours:
    return services.set_hours(
        timezone="Europe/Madrid", week=WEEK, holidays=["2026-12-25", "2027-01-06"], by=cast.dave
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_open_and_next_open_in_the_shops_timezone(madrid) -> None:
    # Friday 4 December 2026: Madrid is UTC+1.
    assert services.is_open(madrid, at=at("2026-12-04T08:30"))  # 09:30 local
    assert not services.is_open(madrid, at=at("2026-12-04T12:30"))  # lunch, 13:30 local
    assert services.next_open_at(madrid, at=at("2026-12-04T12:30")) == at("2026-12-04T13:00")
    # Friday evening: back on Monday at 09:00 local.
    assert services.next_open_at(madrid, at=at("2026-12-04T19:00")) == at("2026-12-07T08:00")


def test_holidays_close_whole_days_in_any_year(madrid) -> None:
    assert not services.is_open(madrid, at=at("2026-12-25T10:00"))  # Christmas, a Friday
    assert services.next_open_at(madrid, at=at("2026-12-25T10:00")) == at("2026-12-28T08:00")
    assert not services.is_open(madrid, at=at("2027-01-06T10:00"))  # next year's holiday
    assert services.is_open(madrid, at=at("2027-01-07T10:00"))


def test_no_hours_set_is_always_open(db) -> None:
    assert services.is_open(at=at("2026-12-06T03:00"))
    assert services.next_open_at(at=at("2026-12-06T03:00")) == at("2026-12-06T03:00")


def test_next_business_morning(madrid) -> None:
    friday_evening = at("2026-12-04T19:00")
    assert services.next_business_morning(madrid, at=friday_evening) == at("2026-12-07T08:00")


@pytest.mark.parametrize(
    ("week", "code"),
    [
        ({"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}, "overlapping_ranges"),
        ({"mon": [["17:00", "09:00"]]}, "inverted_range"),
        ({"mon": [["09:00", "09:00"]]}, "inverted_range"),
        ({"mon": [["9am", "5pm"]]}, "invalid_hours"),
        ({"mon": [["25:00", "26:00"]]}, "invalid_hours"),
        ({"funday": [["09:00", "17:00"]]}, "invalid_hours"),
        ({"mon": [["09:00"]]}, "invalid_hours"),
    ],
)
def test_bad_hours_are_422_and_change_nothing(madrid, cast, week, code) -> None:
    response = _put(_as(cast.dave), {"timezone": "Europe/Madrid", "week": week, "holidays": []})
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert services.current().week == WEEK


def test_bad_timezone_and_holiday_are_422(cast) -> None:
    client = _as(cast.dave)
    bad_tz = _put(client, {"timezone": "Mars/Olympus", "week": {}, "holidays": []})
    assert bad_tz.json()["code"] == "invalid_timezone"
    bad_day = _put(client, {"timezone": "UTC", "week": {}, "holidays": ["2026-02-30"]})
    assert bad_day.status_code == 422 and bad_day.json()["code"] == "invalid_holiday"


def test_admin_puts_and_anyone_gets(cast) -> None:
    body = {"timezone": "America/New_York", "week": {"mon": [["09:00", "17:00"]]},
            "holidays": ["2027-07-04"]}  # fmt: skip
    assert _put(_as(cast.alice), body).status_code == 403
    assert _put(_as(cast.carol), body).status_code == 403
    saved = _put(_as(cast.dave), body)
    assert saved.status_code == 200, saved.content
    public = Client().get("/api/v1/business-hours").json()
    assert public["timezone"] == "America/New_York"
    assert public["week"] == {"mon": [["09:00", "17:00"]]}
    assert public["holidays"] == ["2027-07-04"]
    assert set(public) >= {"open", "next_open_at"}


def test_widget_session_says_whether_open_and_when(madrid, time_machine) -> None:
    time_machine.move_to(at("2026-12-04T19:00"), tick=False)  # Friday evening in Madrid
    response = Client().post(
        "/api/v1/widget/sessions",
        data=json.dumps({"name": "Ana", "email": "ana@shop.example"}),
        content_type="application/json",
    )
    body = response.json()
    assert body["open"] is False
    assert body["next_open_at"].startswith("2026-12-07T08:00")
    assert "agents_online" in body


def test_admin_page_saves_and_refuses_overlaps(cast) -> None:
    client = _as(cast.dave)
    form = {
        "timezone": "Europe/Berlin",
        "mon": "09:00-12:00, 13:00-17:00",
        "holidays": "2026-12-24",
    }
    assert client.post("/hours/", form).status_code == 302
    assert services.current().week == {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    bad = client.post("/hours/", {**form, "tue": "09:00-12:00, 11:00-15:00"})
    assert bad.status_code == 422 and "overlap" in bad.content.decode()
    assert _as(cast.alice).get("/hours/").status_code == 403
