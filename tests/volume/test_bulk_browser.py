"""In Chromium: Alice ticks ten tickets and bulk-assigns them to Bob; Bob's open "Mine" inbox
shows them arrive live, without a reload, through the same events a single change fires."""

from __future__ import annotations

import pytest

from tests import factories
from tests.helpers.browser import login
from tickets.models import Ticket


@pytest.mark.browser
@pytest.mark.live
def test_ten_tickets_bulk_assigned_appear_live_in_the_other_agents_inbox(
    cast, live_server, browser
) -> None:
    tickets = factories.TicketFactory.create_batch(12, status="new")
    chosen = tickets[:10]

    bob_context = browser.new_context()
    bob = bob_context.new_page()
    bob.set_default_timeout(20_000)
    login(bob, live_server, cast.bob.email, cast.password)
    bob.goto(f"{live_server.url}/inbox/?view=mine")
    bob.wait_for_selector("#ticket-table >> text=No tickets here.")
    bob.wait_for_timeout(1000)  # the inbox socket connects

    alice_context = browser.new_context()
    alice = alice_context.new_page()
    alice.set_default_timeout(20_000)
    login(alice, live_server, cast.alice.email, cast.password)
    alice.goto(f"{live_server.url}/inbox/?view=unassigned")
    for ticket in chosen:
        alice.check(f"#ticket-table input[name=ids][value='{ticket.pk}']")
    assert alice.inner_text("[data-selected-count]").startswith("10 selected")
    alice.select_option("[data-bulk-action]", "assign")
    alice.select_option("#bulk-form select[name=assignee]", str(cast.bob.pk))
    alice.click("#bulk-form button[type=submit]")
    alice.wait_for_selector("text=10 tickets updated.")

    # Bob never reloads: the inbox socket's events re-fetch his table.
    bob.wait_for_function(
        "n => document.querySelectorAll('#ticket-table tr[data-ticket-id]').length === n", arg=10
    )
    shown = {
        int(v)
        for v in bob.eval_on_selector_all(
            "#ticket-table tr[data-ticket-id]", "rows => rows.map(r => r.dataset.ticketId)"
        )
    }
    assert shown == {t.pk for t in chosen}
    assert Ticket.objects.filter(assignee=cast.bob).count() == 10
    alice_context.close()
    bob_context.close()


@pytest.mark.browser
@pytest.mark.live
def test_all_that_match_the_filter_runs_in_the_background_and_the_inbox_shows_progress(
    cast, live_server, browser
) -> None:
    from tickets import bulk
    from tickets.models import BulkJob

    pending = factories.TicketFactory.create_batch(3, status="pending")
    fresh = factories.TicketFactory.create_batch(2, status="new")

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/inbox/?view=pending")
    page.check("[data-select-matching]")
    page.select_option("[data-bulk-action]", "status")
    page.select_option("#bulk-form select[name=status_value]", "solved")
    page.click("#bulk-form button[type=submit]")
    # The live server runs tasks in-process, so this job is done by the time the page is back.
    page.wait_for_selector("#bulk-job >> text=Bulk status done: 3 updated.")
    assert Ticket.objects.filter(pk__in=[t.pk for t in pending], status="solved").count() == 3

    # A job still waiting for a worker: the box polls and follows it to the end, no reload.
    job = BulkJob.objects.create(
        action="tag", value="vip", ids=[t.pk for t in fresh], by=cast.alice, total=2
    )
    page.goto(f"{live_server.url}/inbox/?view=open&job={job.pk}")
    page.wait_for_selector("#bulk-job >> text=0 of 2")
    assert bulk.work_open_jobs() == 1
    page.wait_for_selector("#bulk-job >> text=Bulk tag done: 2 updated.")
    assert all(t.tags.filter(name="vip").exists() for t in fresh)
    context.close()
