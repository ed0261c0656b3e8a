from __future__ import annotations

import re
from decimal import Decimal

from tests import factories
from tests.helpers.grants import make_grant
from wow_credits import services
from wow_credits.models import Celebration, CoreValue, Grant, GrantStatus


def _story(cast, order):
    grant = make_grant("overnight_reship", by=cast.alice, order=order, amount="25")
    story = services.nominate_story(
        by=cast.bob,
        title="The best man's shoes",
        story="Alice sent new shoes overnight.",
        values=["deliver-wow-through-service"],
        grant_ids=[grant.pk],
    )
    return story, grant


def test_wall_renders_cards_with_people_values_and_cost(client, cast, order):
    _story(cast, order)
    client.force_login(cast.carol)
    page = client.get("/wall/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "The best man&#x27;s shoes" in html
    assert "Alice Agent, nominated by Bob Builder" in html
    assert "Deliver WOW through service" in html
    assert "Cost: <strong>25.00</strong>" in html


def test_wall_filters(client, cast, order):
    _story(cast, order)
    client.force_login(cast.alice)
    assert "best man" in client.get("/wall/?value=deliver-wow-through-service").content.decode()
    assert "best man" not in client.get("/wall/?value=be-humble").content.decode()
    assert "best man" in client.get(f"/wall/?agent={cast.alice.pk}").content.decode()
    assert "best man" not in client.get(f"/wall/?agent={cast.dave.pk}").content.decode()
    assert "best man" in client.get("/wall/?kind=overnight_reship&period=7d").content.decode()
    assert "best man" not in client.get("/wall/?kind=refund").content.decode()


def test_wall_needs_login(client):
    assert client.get("/wall/").status_code == 302


def test_celebrate_once_per_person_with_live_count(client, cast, order):
    story, _ = _story(cast, order)
    for user, expected in ((cast.carol, "1"), (cast.carol, "1"), (cast.alice, "2")):
        client.force_login(user)
        response = client.post(f"/wall/{story.pk}/celebrate", HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        count = re.search(r"data-celebrations>(\d+)<", response.content.decode()).group(1)
        assert count == expected
    assert Celebration.objects.filter(story=story).count() == 2


def test_nominate_form_prefills_and_creates(client, cast, order):
    grant = make_grant("gift", by=cast.alice, order=order)
    client.force_login(cast.bob)
    form = client.get(f"/wall/new?grants={grant.pk}&ticket_id=12")
    assert f'name="grant_ids" value="{grant.pk}"' in form.content.decode()
    assert 'name="ticket_id" value="12"' in form.content.decode()
    response = client.post(
        "/wall/new",
        {
            "title": "Gift for a rainy day",
            "story": "An umbrella, free.",
            "values": ["be-humble"],
            "grant_ids": [grant.pk],
            "ticket_id": "12",
            "subject_user": str(cast.alice.pk),
        },
    )
    assert response.status_code == 302
    story = cast.bob.stories_written.get()
    assert (story.ticket_id, story.subject_user, list(story.grants.all())) == (
        12,
        cast.alice,
        [grant],
    )
    assert list(story.values.all()) == [CoreValue.objects.get(slug="be-humble")]


def test_reports_render_for_a_manager_with_charts(client, cast, order):
    _story(cast, order)
    make_grant("refund", by=cast.bob, order=order, amount="40")
    repeat = factories.CustomerFactory()
    factories.OrderFactory(customer=repeat)
    factories.OrderFactory(customer=repeat)
    client.force_login(cast.carol)
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") >= 5
    assert "Overnight reship" in html and "Refund" in html
    assert "spend <strong>65.00</strong>" in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]  # charts need no JS


def test_reports_are_403_for_an_agent(client, cast):
    client.force_login(cast.alice)
    assert client.get("/reports/").status_code == 403


def test_grant_dialog_grants_and_undoes(client, cast, order):
    client.force_login(cast.alice)
    form = client.get(f"/wow/grant?order_id={order.pk}&ticket_id=")
    html = form.content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    data = {
        "idempotency_key": key,
        "kind": "refund",
        "order_id": order.pk,
        "amount": "30",
        "reason": "late delivery",
    }
    done = client.post("/wow/grant", data, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert "Undo" in done.content.decode()
    again = client.post("/wow/grant", data, HTTP_HX_REQUEST="true")  # a double click
    assert again.status_code == 200
    grant = Grant.objects.get()
    assert grant.amount == Decimal("30.00")
    undone = client.post(f"/wow/grants/{grant.pk}/undo", HTTP_HX_REQUEST="true")
    assert undone.status_code == 200 and "Undone" in undone.content.decode()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.UNDONE


def test_grant_dialog_shows_errors_and_guardrails(client, cast, order):
    make_grant("gift", by=cast.bob, order=order)
    client.force_login(cast.alice)
    form = client.get(f"/wow/grant?order_id={order.pk}").content.decode()
    assert "This customer received 1 grant in 30 days" in form
    response = client.post(
        "/wow/grant",
        {
            "idempotency_key": "z",
            "kind": "refund",
            "order_id": order.pk,
            "amount": "999",
            "reason": "x",
        },
    )
    assert response.status_code == 422
    assert "refundable" in response.content.decode()


def test_coworker_bonus_page_respects_the_allowance(client, cast):
    client.force_login(cast.alice)
    page = client.get("/wow/bonus").content.decode()
    assert "<strong>50</strong> of 50 left" in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {
        "recipient": cast.bob.pk,
        "amount": "40",
        "reason": "Covered my shift",
        "idempotency_key": key,
    }
    assert client.post("/wow/bonus", data).status_code == 200
    over = client.post("/wow/bonus", {**data, "amount": "20", "idempotency_key": "other"})
    assert over.status_code == 422 and "allowance" in over.content.decode()
    grant = Grant.objects.get()
    assert (grant.recipient_user, grant.amount) == (cast.bob, Decimal("40.00"))


def test_demo_data_fills_the_wall_and_reports(client, cast):
    from django.core.management import call_command

    call_command("load_demo")
    call_command("load_wow_demo")
    call_command("load_wow_demo")  # a second run changes nothing
    assert Grant.objects.count() == 5
    client.force_login(cast.carol)
    assert "The best man&#x27;s shoes" in client.get("/wall/").content.decode()
    assert client.get("/reports/").content.decode().count("<svg") >= 5
