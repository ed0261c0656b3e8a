"""In Chromium: whatever the server refuses, the agent sees why, where they are looking."""

from __future__ import annotations

import pytest

from tests import factories
from tests.helpers.browser import login
from tickets import services
from wow_credits.models import Grant

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_a_refused_grant_shows_its_message_in_the_dialog(cast, live_server, page) -> None:
    customer = factories.CustomerFactory(name="Sam Best", email="sam@shop.example")
    ticket, _ = services.create_ticket(
        services.NewTicket(
            customer=customer, subject="Out of stock", body_text="My size is gone.", channel="email"
        )
    )
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    dialog = page.locator("form.grant-dialog")
    dialog.locator("textarea[name=reason]").fill("Out of stock in his size: a code for next time")

    # A discount code needs an amount or a percent: the server answers 422 with the dialog.
    dialog.get_by_role("button", name="Discount code").click()

    alert = page.locator("form.grant-dialog [role=alert]")
    alert.wait_for()
    assert "needs an amount or a percent" in alert.inner_text()
    # What the agent typed is still there, ready to correct; nothing was granted.
    assert (
        "a code for next time"
        in page.locator("form.grant-dialog textarea[name=reason]").input_value()
    )
    assert not Grant.objects.exists()


def test_a_request_that_cannot_reach_the_server_says_so_in_a_toast(cast, live_server, page) -> None:
    customer = factories.CustomerFactory(name="Sam Best", email="sam@shop.example")
    ticket, _ = services.create_ticket(
        services.NewTicket(
            customer=customer, subject="Where is my parcel?", body_text="No scan.", channel="email"
        )
    )
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("form.grant-dialog").wait_for()
    page.route("**/wow/grant", lambda route: route.abort("connectionrefused"))
    page.locator("form.grant-dialog textarea[name=reason]").fill("Lost parcel: reship overnight")

    page.locator("form.grant-dialog").get_by_role("button", name="Overnight reship").click()

    toast = page.locator("#toasts .toast")
    toast.wait_for()
    assert "Network error" in toast.inner_text()
