"""In Chromium: the ticket page works for the agent. The customer comes first, a note looks like a
note, properties save as they change, and a grant's undo window survives a reload."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.helpers.browser import login
from tickets import services
from tickets.models import Ticket
from wow_credits.models import Grant, GrantStatus

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def wrong_address_ticket(db) -> Ticket:
    customer = factories.CustomerFactory(name="Sam Best", email="sam@shop.example")
    order = factories.OrderFactory(customer=customer, external_id="WED-1")
    factories.ShipmentFactory(order=order, address="12 Chapel Rd, Springfield", carrier="UPS")
    ticket, _ = services.create_ticket(
        services.NewTicket(customer=customer, subject="Shoes went to my old address",
        body_text="The wedding is tomorrow.", channel="email", order_id=order.pk,)
    )  # fmt: skip
    return ticket


def test_the_customer_and_the_delivery_address_come_first_and_follow_ups_wait_behind_a_button(
    cast, live_server, page, wrong_address_ticket
) -> None:
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{wrong_address_ticket.pk}/")

    first_card = page.locator("aside.ticket-side > section").first
    assert "Sam Best" in first_card.inner_text()
    assert "Ship to: 12 Chapel Rd, Springfield" in first_card.inner_text()
    assert not page.locator("#follow-ups textarea[name=body]").is_visible()
    page.get_by_text("Follow up…").click()
    assert page.locator("#follow-ups textarea[name=body]").is_visible()


def test_an_internal_note_looks_like_a_note_and_changes_no_status(
    cast, live_server, page, wrong_address_ticket
) -> None:
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{wrong_address_ticket.pk}/")
    reply = page.locator("#reply")
    assert reply.get_by_role("button", name="Send").is_visible()

    reply.get_by_label("Internal note").check()

    assert "note-mode" in (reply.get_attribute("class") or "")
    assert reply.get_by_role("button", name="Add note").is_visible()
    assert not reply.locator("select[name=status]").is_visible()
    assert "only agents see it" in reply.inner_text()
    reply.locator("textarea[name=body]").fill("Checked with UPS: the parcel is at the depot.")
    reply.get_by_role("button", name="Add note").click()
    page.locator(".flash", has_text="Internal note added.").wait_for()
    wrong_address_ticket.refresh_from_db()
    note = wrong_address_ticket.messages.get(internal=True)
    assert note.body_text.startswith("Checked with UPS")
    assert wrong_address_ticket.status != "solved"


def test_properties_are_saved_when_they_change(cast, live_server, page, wrong_address_ticket):
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{wrong_address_ticket.pk}/")

    page.locator("form.ticket-props select[name=priority]").select_option("high")

    page.locator("#props-status").get_by_text(re.compile("Saved at")).wait_for()
    wrong_address_ticket.refresh_from_db()
    assert wrong_address_ticket.priority == "high"


def test_a_pending_grant_keeps_its_undo_countdown_across_a_reload(
    cast, live_server, page, wrong_address_ticket
) -> None:
    login(page, live_server, cast.alice.email, cast.password)
    url = f"{live_server.url}/tickets/{wrong_address_ticket.pk}/"
    page.goto(url)
    dialog = page.locator("form.grant-dialog")
    dialog.locator("textarea[name=reason]").fill("Loyal customer, wedding tomorrow")
    # The dialog says which words the customer will read, and keeps the team's note apart.
    assert "did this because: Loyal customer, wedding tomorrow" in dialog.inner_text()
    dialog.get_by_text("Internal note (optional").click()
    dialog.locator("textarea[name=internal_note]").fill("Third late parcel this year")
    dialog.get_by_role("button", name="VIP upgrade").click()
    page.locator(".grant-done").first.wait_for()

    page.reload()

    event = page.locator("ol.thread .grant-event")
    undo = event.get_by_role("button", name=re.compile(r"Undo"))
    undo.get_by_text(re.compile(r"\(\d+:\d\d left\)")).wait_for()
    assert "VIP upgrade" in event.inner_text() and "Loyal customer" in event.inner_text()
    assert "Internal note: Third late parcel this year" in event.inner_text()
    assert Grant.objects.get().details["internal_note"] == "Third late parcel this year"
    undo.click()
    event.get_by_text("Undone. Nothing will happen.").wait_for()
    assert Grant.objects.get().status == GrantStatus.UNDONE


def test_the_keyboard_writes_a_note_assigns_to_me_and_sends_with_ctrl_enter(
    cast, live_server, page, wrong_address_ticket
) -> None:
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{wrong_address_ticket.pk}/")

    page.keyboard.press("a")
    page.locator("#props-status").get_by_text(re.compile("Saved at")).wait_for()
    page.keyboard.press("n")
    page.keyboard.type("Called UPS, the parcel is at the depot.")
    page.keyboard.press("Control+Enter")
    page.locator(".flash", has_text="Internal note added.").wait_for()

    wrong_address_ticket.refresh_from_db()
    assert wrong_address_ticket.assignee == cast.alice
    assert wrong_address_ticket.messages.get(internal=True).body_text.startswith("Called UPS")


def test_the_inbox_is_dense_and_a_ticket_that_arrives_live_is_highlighted(
    cast, live_server, page
) -> None:
    from email.message import EmailMessage

    from tests.helpers.inbound import post_inbound_email

    factories.TicketFactory(subject="Older question")
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/inbox/?view=all")
    row = page.locator("#ticket-table tr[data-href]", has_text="Older question")
    assert re.fullmatch(r"now|\d+[mhd]", row.locator("td.age").inner_text().strip())
    assert row.bounding_box()["height"] < 40  # one line

    mail = EmailMessage()
    mail["From"] = "Priya <priya@shop.example>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "Parcel never arrived"
    mail["Message-ID"] = "<live-1@shop.example>"
    mail.set_content("Tracking has not moved in a week.")
    post_inbound_email(live_server, mail.as_bytes())

    page.locator("#ticket-table tr.arrived", has_text="Parcel never arrived").wait_for()
    page.goto(f"{live_server.url}/inbox/?view=all&q=nothing-matches-this")
    page.get_by_role("link", name="Clear filters").click()
    page.wait_for_url(lambda url: "q=" not in url)
