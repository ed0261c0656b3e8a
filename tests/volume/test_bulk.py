"""Working many tickets at once: POST /api/v1/tickets/bulk, each ticket through its own service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tickets import bulk
from tickets.models import BulkJob, Status, Ticket

pytestmark = pytest.mark.django_db


def _post(client, **payload):
    return client.post("/api/v1/tickets/bulk", payload, content_type="application/json")


def test_bulk_assign_moves_every_ticket_and_reports_each(api_client, cast):
    tickets = factories.TicketFactory.create_batch(10, status="new")
    ids = [t.pk for t in tickets]

    response = _post(api_client, ids=ids, action="assign", value=cast.bob.pk)

    assert response.status_code == 200
    assert response.json() == {"updated": ids, "failed": [], "job_id": None}
    assert set(Ticket.objects.filter(pk__in=ids).values_list("assignee_id", flat=True)) == {
        cast.bob.pk
    }


def test_duplicate_ids_are_worked_once_and_unknown_ids_are_reported(api_client):
    ticket = factories.TicketFactory(status="new")
    gone = factories.TicketFactory(status="new")
    gone_id = gone.pk
    gone.delete()

    response = _post(
        api_client, ids=[ticket.pk, ticket.pk, 999_999, gone_id], action="status", value="pending"
    )

    assert response.status_code == 200
    assert response.json()["updated"] == [ticket.pk]
    assert response.json()["failed"] == [
        {"id": 999_999, "code": "not_found"},
        {"id": gone_id, "code": "not_found"},
    ]
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING


def test_an_unknown_action_changes_nothing_and_says_why(api_client):
    ticket = factories.TicketFactory(status="new")

    response = _post(api_client, ids=[ticket.pk], action="delete-everything", value=None)

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_action"
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_bad_value_is_refused_before_any_ticket_changes(api_client):
    ticket = factories.TicketFactory(status="new")

    assign = _post(api_client, ids=[ticket.pk], action="assign", value=123_456)
    status = _post(api_client, ids=[ticket.pk], action="status", value="exploded")

    assert (assign.status_code, assign.json()["code"]) == (422, "invalid_assignee")
    assert (status.status_code, status.json()["code"]) == (422, "invalid_status")


def test_more_than_ten_thousand_ids_is_refused(api_client):
    response = _post(api_client, ids=list(range(1, 10_002)), action="spam")

    assert response.status_code == 422
    assert response.json()["code"] == "too_many"


def test_ten_thousand_ids_run_in_the_background_with_progress(api_client):
    tickets = factories.TicketFactory.create_batch(3, status="new")
    ids = [t.pk for t in tickets] + list(range(10_000_000, 10_000_000 + 9_997))

    response = _post(api_client, ids=ids, action="tag", value="outage, carrier")

    assert response.status_code == 202
    job_id = response.json()["job_id"]
    # (A worker runs it once its row commits; this test's transaction never commits, so the
    # sweep's entry point runs it here.)
    assert bulk.work_open_jobs() == 1
    progress = api_client.get(f"/api/v1/tickets/bulk/{job_id}").json()
    assert progress["status"] == "done"
    assert progress["total"] == progress["done"] == 10_000
    assert progress["updated"] == [t.pk for t in tickets]
    assert len(progress["failed"]) == 9_997
    assert {f["code"] for f in progress["failed"]} == {"not_found"}
    for ticket in tickets:
        assert sorted(ticket.tags.values_list("name", flat=True)) == ["carrier", "outage"]


def test_a_job_left_by_a_crashed_worker_resumes_from_its_checkpoint(cast):
    tickets = factories.TicketFactory.create_batch(5, status="new")
    job = BulkJob.objects.create(
        action="status", value="solved", ids=[t.pk for t in tickets], by=cast.alice, total=5
    )
    # A worker died after the first two: its lease is over, its progress was saved.
    BulkJob.objects.filter(pk=job.pk).update(
        status="running",
        done=2,
        updated=[tickets[0].pk, tickets[1].pk],
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    assert bulk.work_open_jobs() == 1

    job.refresh_from_db()
    assert job.status == "done" and job.updated == [t.pk for t in tickets]
    assert Ticket.objects.filter(pk__in=job.ids[2:], status="solved").count() == 3


def test_tag_and_untag_keep_the_other_tags(api_client):
    ticket = factories.TicketFactory(status="open")
    ticket.tags.create(name="vip")

    _post(api_client, ids=[ticket.pk], action="tag", value="late")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["late", "vip"]
    _post(api_client, ids=[ticket.pk], action="untag", value="vip")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["late"]


def test_a_merged_ticket_is_reported_not_changed(api_client):
    survivor = factories.TicketFactory(status="open")
    merged = factories.TicketFactory(status="open", customer=survivor.customer)
    _ = api_client.post(
        f"/api/v1/tickets/{merged.pk}/merge", {"into": survivor.pk}, content_type="application/json"
    )

    response = _post(api_client, ids=[merged.pk, survivor.pk], action="status", value="pending")

    assert response.json()["updated"] == [survivor.pk]
    assert response.json()["failed"] == [{"id": merged.pk, "code": "merged"}]


@pytest.mark.django_db(transaction=True)
def test_each_bulk_change_fires_the_same_inbox_event_as_a_single_change(api_client, cast, capture):
    tickets = factories.TicketFactory.create_batch(3, status="new")

    published = capture(
        ["inbox"],
        lambda: _post(api_client, ids=[t.pk for t in tickets], action="assign", value=cast.bob.pk),
    )

    changed = [e for e in published if e["type"] == "ticket.changed"]
    assert sorted(e["ticket_id"] for e in changed) == sorted(t.pk for t in tickets)
    assert {e["assignee_id"] for e in changed} == {cast.bob.pk}
