"""Scenario 1 in Chromium, end to end: "the best man's shoes".

The shop syncs the order; Sam chats from the widget on the demo shop; Alice joins in the console,
sees the order and its shipment in the chat's sidebar and, with one reason, grants an overnight
reship, a full refund and a VIP upgrade from the chat. After a short undo window the real Celery
worker executes them; Sam sees what was made right in the chat and gets the confirmation email;
Alice nominates the story and Carol, the manager, celebrates it on the wall.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from customers.models import Customer, Order, Tier
from livechat.models import ChatMessage, Conversation
from tests.helpers.browser import login, open_console, start_shop_chat
from tests.helpers.grants import core_values  # noqa: F401 (a fixture)
from wow_credits.models import Grant, GrantStatus, Story

# send_task goes through the broker to the real worker whatever the eager flag says.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

REASON = "Best man's shoes went to the wrong address the day before the wedding"


@pytest.fixture
def live_server_env(live_server_env: dict[str, str]) -> dict[str, str]:
    """A two-second undo window, so the worker executes while the chat is still open."""
    return {
        **live_server_env,
        "SUPPORTDESK_UNDO_SECONDS": "2",
        # Sam is signed in on the shop: the demo shop vouches for his email with a user_hash.
        "SUPPORTDESK_DEMO_SHOP_LOGIN": "true",
    }


def sync_order(server, token: str) -> None:
    body = {
        "external_id": "WED-1",
        "customer": {"email": "sam.best@example.com", "name": "Sam Best"},
        "items": [{"name": "Oxford shoes, size 10", "price": "180.00"}],
        "total": "180.00",
        "shipping": {
            "method": "standard",
            "address": "12 Chapel Rd",
            "carrier": "UPS",
            "tracking": "1Z999",
            "status": "in_transit",
        },
    }
    request = urllib.request.Request(
        f"{server.url}/api/v1/orders",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 201


def sweep_until_executed(count: int, worker, timeout: float = 60.0) -> None:
    """Nudge the worker the way beat does until `count` grants are executed."""
    from supportdesk.celery import app

    deadline = time.monotonic() + timeout
    while Grant.objects.filter(status=GrantStatus.EXECUTED).count() < count:
        assert time.monotonic() < deadline, worker.log()[-4000:]
        app.send_task("supportdesk.sweep")
        time.sleep(1.0)


@pytest.mark.usefixtures("core_values")
def test_the_best_mans_shoes_in_the_browser(
    shop_token, cast, live_server, celery_worker, smtp_server, browser
) -> None:
    sync_order(live_server, shop_token)
    agent_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    shop_context = browser.new_context(viewport={"width": 1000, "height": 800})
    manager_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        agent = open_console(
            agent_context, live_server, cast.alice.email, cast.password, timeout=20_000
        )
        shop = start_shop_chat(
            shop_context,
            live_server,
            name="Sam Best",
            email="sam.best@example.com",
            question="My shoes for tomorrow's wedding went to 12 Chapel Rd. I live at 21!",
            timeout=20_000,
            signed_in=True,
        )

        conversation = Conversation.objects.get(visitor_email="sam.best@example.com")
        agent.get_by_role("button", name="Join chat with Sam Best").click()
        pane = agent.locator(f".chat-pane[data-conversation='{conversation.pk}']")
        pane.get_by_text("I live at 21!").wait_for()

        # The order and its shipment, in the chat's sidebar (open from the start).
        pane.get_by_text("Order WED-1: 180.00 USD").wait_for()
        pane.get_by_text("UPS 1Z999 (in_transit)").wait_for()

        # One click opens the dialog bound to this chat; a reason; one click per grant.
        pane.get_by_role("button", name=f"Make it right in chat {conversation.pk}").click()
        dialog = pane.locator("form.grant-dialog")
        dialog.get_by_label("Message to the customer").fill(REASON)
        dialog.get_by_text("Amount, percent, address").click()
        dialog.get_by_label("New address").fill("21 Chapel Rd")
        assert dialog.get_by_label("Order").input_value() == str(
            Order.objects.get(external_id="WED-1").pk
        )
        for done, kind in enumerate(("Overnight reship", "Refund", "VIP upgrade"), start=1):
            pane.locator("form.grant-dialog").get_by_role("button", name=kind, exact=True).click()
            pane.locator(".grant-done").nth(done - 1).wait_for()
            assert pane.locator(".grant-done").count() == done
        pane.locator(".grant-done", has_text="Refund").get_by_text("180.00 USD").wait_for()

        grants = list(Grant.objects.filter(chat_id=conversation.pk).order_by("id"))
        assert [g.kind for g in grants] == ["overnight_reship", "refund", "vip_upgrade"]
        assert {g.reason for g in grants} == {REASON}
        assert len({g.idempotency_key for g in grants}) == 3
        customer = Customer.objects.get(emails__address="sam.best@example.com")
        assert {g.customer_id for g in grants} == {customer.pk}

        # Sam sees at once what is on its way, then what was done, with the facts.
        shop.get_by_text("Alice Agent arranged a refund of 180.00 USD for order WED-1").wait_for()
        sweep_until_executed(3, celery_worker)
        order = Order.objects.get(external_id="WED-1")
        assert order.status == "refunded"
        overnight = order.shipments.get(method="overnight")
        assert overnight.address == "21 Chapel Rd"
        customer.refresh_from_db()
        assert customer.tier == Tier.VIP
        shop.get_by_text(f"tracking {overnight.tracking}").wait_for()
        shop.get_by_text("We refunded 180.00 USD on order WED-1.").wait_for()
        shop.get_by_text("You are now a VIP customer").wait_for()
        pane.get_by_text(f"tracking {overnight.tracking}").wait_for()  # the agent sees it too
        done_lines = ChatMessage.objects.filter(
            conversation=conversation, author_type="system", body__startswith="Done: "
        )
        assert done_lines.count() == 3

        # The confirmation email, one per grant, in one thread for this chat.
        deadline = time.monotonic() + 30
        while len([m for m in smtp_server.messages if m["X-Supportdesk-Grant"]]) < 3:
            assert time.monotonic() < deadline, "confirmation emails missing"
            time.sleep(0.2)
        mails = [m for m in smtp_server.messages if m["X-Supportdesk-Grant"]]
        assert {m["To"] for m in mails} == {"sam.best@example.com"}
        assert {m["X-Supportdesk-Chat"] for m in mails} == {str(conversation.pk)}
        assert len({m["References"] for m in mails}) == 1
        assert f"<chat-{conversation.pk}@" in mails[0]["In-Reply-To"]
        bodies = " ".join(m.get_body(("plain",)).get_content() for m in mails)
        assert overnight.tracking in bodies and "180.00" in bodies and "VIP" in bodies
        assert REASON in bodies

        # Alice nominates the story from the chat; the grants come along.
        with agent_context.expect_page() as opened:
            pane.get_by_role("link", name="Nominate a WOW story").click()
        form = opened.value
        form.set_default_timeout(20_000)
        form.get_by_text("Linked: Overnight reship").wait_for()
        form.get_by_label("Title").fill("The best man's shoes")
        form.get_by_label("What happened").fill(
            "Sam's shoes went astray the day before the wedding: a new pair overnight, "
            "a full refund and VIP."
        )
        form.get_by_label("Deliver WOW through service").check()
        form.get_by_role("button", name="Nominate").click()
        form.wait_for_url("**/wall/")
        story = Story.objects.get()
        assert story.chat_id == conversation.pk
        assert sorted(story.grants.values_list("pk", flat=True)) == [g.pk for g in grants]

        # Carol sees it on the wall, tagged with the value, and celebrates.
        manager = manager_context.new_page()
        manager.set_default_timeout(20_000)
        login(manager, live_server, cast.carol.email, cast.password)
        manager.goto(f"{live_server.url}/wall/")
        card = manager.locator(f"#story-{story.pk}")
        card.get_by_text("The best man's shoes").wait_for()
        card.get_by_text("Deliver WOW through service").wait_for()
        card.get_by_role("button", name="Celebrate").click()
        manager.wait_for_selector(f"#story-{story.pk} button[disabled]")
        assert card.locator("[data-celebrations]").inner_text() == "1"
    finally:
        agent_context.close()
        shop_context.close()
        manager_context.close()
