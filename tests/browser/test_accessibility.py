"""Every main page passes axe-core with no critical or serious violation: the agent pages (the chat
console with a chat open), the customer's pages and the widget open on the shop, on a phone."""

from __future__ import annotations

import pytest

from tests import factories
from tests.helpers.browser import axe_violations, login, open_console, start_shop_chat
from tickets import services

pytestmark = [pytest.mark.browser, pytest.mark.live]

AGENT_PAGES = ["/inbox/", "/chats/", "/wall/", "/wall/new", "/team/", "/snippets/", "/wow/bonus",
               "/password/", "/audit/", "/help/manage/", "/tokens/", "/teams/"]  # fmt: skip


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    yield context
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_agent_pages_have_no_serious_violations(cast, live_server, browser, scheme) -> None:
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, bypass_csp=True, color_scheme=scheme
    )
    customer = factories.CustomerFactory(name="Sam Best", email="sam@shop.example")
    order = factories.OrderFactory(customer=customer, external_id="A-1001")
    factories.ShipmentFactory(order=order)
    ticket, _ = services.create_ticket(
        services.NewTicket(customer=customer, subject="Wrong address", body_text="The shoes went to my old flat.",
        channel="email", order_id=order.pk,)
    )  # fmt: skip
    page = context.new_page()
    login(page, live_server, cast.carol.email, cast.password)

    found = {}
    for path in [*AGENT_PAGES, f"/tickets/{ticket.pk}/", "/reports/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        found[path] = axe_violations(page)

    context.close()
    assert {path: v for path, v in found.items() if v} == {}


def test_the_console_with_a_chat_open_and_the_widget_on_a_phone_pass(cast, live_server, context):
    agent = open_console(context, live_server, cast.alice.email, cast.password)
    shop = start_shop_chat(
        context, live_server, name="Sam Best", email="sam@shop.example",
        question="Can I still change the size?",
    )  # fmt: skip
    shop.set_viewport_size({"width": 390, "height": 844})
    agent.bring_to_front()
    agent.locator("button.chat-join").first.click()
    agent.locator(".chat-pane .chat-log").get_by_text("Can I still change the size?").wait_for()

    assert axe_violations(agent) == []
    assert axe_violations(shop) == []


def test_the_customer_pages_pass(live_server, context) -> None:
    page = context.new_page()
    found = {}
    for path in ["/login/", "/support/new", "/demo/shop/", "/help/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        found[path] = axe_violations(page)

    assert {path: v for path, v in found.items() if v} == {}
