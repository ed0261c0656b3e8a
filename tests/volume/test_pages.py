"""The agent pages for volume work: the inbox bulk bar, merge and spam buttons, contact merge."""

from __future__ import annotations

import pytest

from customers.models import Customer
from tests import factories
from tickets.models import BulkJob, Status, Ticket

pytestmark = pytest.mark.django_db


def test_inbox_rows_have_checkboxes_and_the_bulk_bar(alice_client):
    ticket = factories.TicketFactory(status="new")

    html = alice_client.get("/inbox/").content.decode()

    assert f'name="ids" value="{ticket.pk}" form="bulk-form"' in html
    assert 'id="bulk-form"' in html and 'value="merge"' in html
    assert 'href="?view=spam"' in html


def test_bulk_bar_assigns_the_ticked_tickets(alice_client, cast):
    tickets = factories.TicketFactory.create_batch(4, status="new")
    ticked = [t.pk for t in tickets[:3]]

    response = alice_client.post(
        "/inbox/bulk",
        {"ids": ticked, "action": "assign", "assignee": cast.bob.pk, "next": "/inbox/?view=open"},
    )

    assert response.status_code == 302 and response["Location"] == "/inbox/?view=open"
    assert (
        list(Ticket.objects.filter(assignee=cast.bob).values_list("pk", flat=True).order_by("pk"))
        == ticked
    )
    assert Ticket.objects.get(pk=tickets[3].pk).assignee_id is None


def test_bulk_bar_all_that_match_the_filter_queues_a_job_with_progress(alice_client, cast):
    matching = factories.TicketFactory.create_batch(3, status="pending")
    other = factories.TicketFactory(status="new")

    response = alice_client.post(
        "/inbox/bulk",
        {
            "scope": "filter",
            "f_view": "pending",
            "action": "status",
            "status_value": "solved",
            "next": "/inbox/?view=pending",
        },
    )

    job = BulkJob.objects.get()
    assert sorted(job.ids) == sorted(t.pk for t in matching)
    assert response["Location"] == f"/inbox/?view=pending&job={job.pk}"
    assert Ticket.objects.get(pk=other.pk).status == Status.NEW


def test_a_background_job_shows_its_progress_in_the_inbox_until_done(alice_client, cast):
    from tickets import bulk

    matching = factories.TicketFactory.create_batch(250, status="pending")
    factories.TicketFactory(status="new")
    alice_client.post(
        "/inbox/bulk",
        {"scope": "filter", "f_view": "pending", "action": "tag", "value": "outage"},
    )
    job = BulkJob.objects.get()
    assert job.total == 250

    # The inbox it sends the agent back to shows the box, polling while the job runs.
    page = alice_client.get(f"/inbox/?view=pending&job={job.pk}").content.decode()
    assert 'id="bulk-job"' in page and f'hx-get="/inbox/bulk/{job.pk}"' in page
    assert '<progress max="250" value="0">' in page and "0 of 250" in page
    # A worker saved its first checkpoint.
    BulkJob.objects.filter(pk=job.pk).update(status="running", done=bulk.CHECKPOINT)
    running = alice_client.get(f"/inbox/bulk/{job.pk}").content.decode()
    assert f'value="{bulk.CHECKPOINT}"' in running and f"{bulk.CHECKPOINT} of 250" in running
    assert 'hx-trigger="every 1s"' in running

    BulkJob.objects.filter(pk=job.pk).update(status="queued", done=0)
    assert bulk.work_open_jobs() == 1

    done = alice_client.get(f"/inbox/bulk/{job.pk}").content.decode()
    assert "Bulk tag done: 250 updated." in done
    assert "hx-get" not in done  # polling stops
    assert all(t.tags.filter(name="outage").exists() for t in matching)
    # Another agent cannot watch (or learn of) someone else's job.
    other = alice_client.__class__()
    other.force_login(cast.bob)
    assert other.get(f"/inbox/bulk/{job.pk}").status_code == 404


def test_all_that_match_takes_more_than_the_per_request_limit(alice_client):
    from tickets import bulk

    factories.TicketFactory.create_batch(bulk.SYNC_LIMIT + 1, status="pending")

    alice_client.post(
        "/inbox/bulk",
        {"scope": "filter", "f_view": "pending", "action": "status", "status_value": "solved"},
    )

    job = BulkJob.objects.get()
    assert job.total == bulk.SYNC_LIMIT + 1
    assert bulk.work_open_jobs() == 1
    assert not Ticket.objects.filter(status="pending").exists()


def test_an_unknown_action_from_the_bulk_bar_changes_nothing(alice_client):
    ticket = factories.TicketFactory(status="new")

    response = alice_client.post(
        "/inbox/bulk", {"ids": [ticket.pk], "action": "explode", "next": "/inbox/"}, follow=True
    )

    assert "Unknown action" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW
    assert not BulkJob.objects.exists()


def test_merge_button_sends_the_agent_to_the_survivor(alice_client):
    survivor = factories.TicketFactory(status="open")
    duplicate = factories.TicketFactory(status="open", customer=survivor.customer)

    response = alice_client.post(f"/tickets/{duplicate.pk}/merge", {"into": f"#{survivor.pk}"})

    assert response["Location"] == f"/tickets/{survivor.pk}/"
    pointer = alice_client.get(f"/tickets/{duplicate.pk}/").content.decode()
    assert f'Merged into <a href="/tickets/{survivor.pk}/">#{survivor.pk}</a>' in pointer


def test_merge_into_itself_shows_the_reason(alice_client):
    ticket = factories.TicketFactory(status="open")

    response = alice_client.post(f"/tickets/{ticket.pk}/merge", {"into": ticket.pk}, follow=True)

    assert "cannot be merged into itself" in response.content.decode()


def test_spam_button_and_block_domain_for_admins(cast):
    from django.test import Client

    from tickets.models import BlockedSender

    admin = Client()
    admin.force_login(cast.dave)
    ticket = factories.TicketFactory(
        status="new", customer=factories.CustomerFactory(email="x@junk.example")
    )

    admin.post(f"/tickets/{ticket.pk}/spam", {"spam": "1", "block": "domain"})

    assert Ticket.objects.get(pk=ticket.pk).status == Status.SPAM
    assert list(BlockedSender.objects.values_list("pattern", flat=True)) == ["junk.example"]
    admin.post(f"/tickets/{ticket.pk}/spam", {"spam": "0"})
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_contact_merge_from_the_ticket_sidebar(alice_client):
    source = factories.CustomerFactory(email="pat@old.example")
    into = factories.CustomerFactory(email="pat@new.example")
    ticket = factories.TicketFactory(customer=source)

    alice_client.post(f"/tickets/{ticket.pk}/merge-contact", {"into": "Pat@New.example"})

    assert Customer.objects.get(pk=source.pk).merged_into_id == into.pk
    assert Ticket.objects.get(pk=ticket.pk).customer_id == into.pk


def test_managers_get_csv_download_links_with_the_inbox_filters(cast, alice_client):
    from django.test import Client

    manager = Client()
    manager.force_login(cast.carol)

    inbox = manager.get("/inbox/?view=pending&channel=web").content.decode()
    reports = manager.get("/reports/").content.decode()

    assert 'href="/api/v1/exports/tickets.csv?view=pending&amp;channel=web"' in inbox
    assert 'href="/api/v1/exports/grants.csv"' in reports and "/api/v1/exports/hours.csv" in reports
    assert "/api/v1/exports/" not in alice_client.get("/inbox/").content.decode()
