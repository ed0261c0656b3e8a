"""In Chromium: the inbox's sidebar counts (views and saved views) and its rows follow a ticket
that arrives while the agent looks, without a reload: the count goes up, the new row flashes,
shows the customer's message and is unread."""

from __future__ import annotations

import json
import urllib.request

import pytest

from accounts.services import issue_api_token
from tests import factories
from tests.helpers.browser import login
from tickets import saved_views


def _count(page, selector: str) -> str:
    return page.inner_text(selector).strip()


@pytest.mark.browser
@pytest.mark.live
def test_a_new_ticket_moves_the_sidebar_counts_and_arrives_unread(
    cast, live_server, browser
) -> None:
    factories.TicketFactory.create_batch(2, status="new")
    view = saved_views.create_view(
        owner=cast.alice, name="Web form", filters={"channel": "api"}, shared=False
    )
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/inbox/?view=unassigned")
    assert _count(page, "[data-view-count=unassigned]") == "2"
    assert _count(page, "[data-view-count=waiting]") == "0"  # factory tickets: nobody wrote
    assert _count(page, f"[data-saved-count='{view.pk}']") == "0"
    page.wait_for_timeout(1000)  # the inbox socket connects

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/tickets",
        data=json.dumps(
            {
                "subject": "Parcel went to my old address",
                "body": "Hello,\nmy parcel went to my old address. Can you help?",
                "customer": {"email": "moved@shop.example", "name": "Mo Ved"},
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {issue_api_token(cast.bob)}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        ticket_id = json.loads(response.read())["id"]

    page.wait_for_function(
        "() => document.querySelector('[data-view-count=unassigned]').textContent === '3'"
    )
    page.wait_for_function(
        "() => document.querySelector('[data-view-count=waiting]').textContent === '1'"
    )
    page.wait_for_function(
        f"() => document.querySelector(\"[data-saved-count='{view.pk}']\").textContent === '1'"
    )
    row = page.locator(f"#ticket-table tr[data-ticket-id='{ticket_id}']")
    row.wait_for()
    assert "arrived" in row.get_attribute("class") and "unread" in row.get_attribute("class")
    assert "my parcel went to my old address" in row.inner_text()
    assert row.locator("td.wait .waited").inner_text() == "now"
    context.close()


@pytest.mark.browser
@pytest.mark.live
def test_an_empty_filtered_view_offers_to_clear_the_filters(cast, live_server, browser) -> None:
    factories.TicketFactory(status="new", subject="Only one")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/inbox/?view=open&q=zeppelinnothere")
    page.wait_for_selector("text=No tickets match these filters.")

    page.click("[data-clear-filters]")

    page.wait_for_selector("#ticket-table >> text=Only one")
    assert "q=" not in page.url
    context.close()
