"""CSV exports: streamed, filtered like the pages, managers only, formulas neutralised."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from tests import factories
from tickets import services as tickets
from wow_credits import services as wow

pytestmark = pytest.mark.django_db


def _rows(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_only_managers_export(token_client, cast):
    assert token_client(cast.alice).get("/api/v1/exports/tickets.csv").status_code == 403
    response = token_client(cast.carol).get("/api/v1/exports/tickets.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]


def test_ticket_export_uses_the_inbox_filters_and_the_date_range(token_client, cast):
    old = factories.TicketFactory(status="open", created_at=timezone.now() - timedelta(days=40))
    pending = factories.TicketFactory(status="pending")
    fresh = factories.TicketFactory(status="open")
    tickets.set_tags(fresh, ["late", "shoes"])
    manager = token_client(cast.carol)
    since = (timezone.localdate() - timedelta(days=7)).isoformat()

    rows = _rows(manager.get("/api/v1/exports/tickets.csv", {"from": since, "view": "open"}))

    assert [int(r["id"]) for r in rows] == [fresh.pk]
    assert rows[0]["tags"] == "late shoes"
    everything = _rows(manager.get("/api/v1/exports/tickets.csv"))
    assert {int(r["id"]) for r in everything} == {old.pk, pending.pk, fresh.pk}


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_cells_that_look_like_formulas_stay_text(token_client, cast, start):
    customer = factories.CustomerFactory(name=f'{start}HYPERLINK("http://evil.example")')
    factories.TicketFactory(customer=customer, subject=f"{start}1+2")

    [row] = _rows(token_client(cast.carol).get("/api/v1/exports/tickets.csv"))

    assert row["subject"] == f"'{start}1+2"
    assert row["customer_name"].startswith(f"'{start}HYPERLINK")


def test_grants_csat_and_hours_exports_have_a_header_and_rows(token_client, cast):
    from csat.models import Survey
    from team.models import ActivitySpan

    customer = factories.CustomerFactory()
    order = factories.OrderFactory(customer=customer)
    wow.grant(
        "refund",
        by=cast.alice,
        customer=customer,
        order=order,
        amount=Decimal("12.50"),
        reason="=cmd|' /C calc'!A0",
        idempotency_key="export-1",
    )
    ticket = factories.TicketFactory(customer=customer, status="solved")
    Survey.objects.create(
        ticket=ticket, customer=customer, agent=cast.alice, rating=5, comment="Great"
    )
    ActivitySpan.objects.create(user=cast.bob, seconds=3600, source="page")
    manager = token_client(cast.carol)

    [grant] = _rows(manager.get("/api/v1/exports/grants.csv"))
    [survey] = _rows(manager.get("/api/v1/exports/csat.csv"))
    [span] = _rows(manager.get("/api/v1/exports/hours.csv"))

    assert grant["kind"] == "refund" and grant["amount"] == "12.50"
    assert grant["reason"].startswith("'=")
    assert survey["rating"] == "5" and survey["agent_email"] == cast.alice.email
    assert span["email"] == cast.bob.email and span["seconds"] == "3600"


def test_a_large_export_streams_in_chunks(token_client, cast):
    from exports import services

    customer = factories.CustomerFactory()
    factories.TicketFactory.create_batch(services.CHUNK + 5, customer=customer)

    response = token_client(cast.carol).get("/api/v1/exports/tickets.csv")
    chunks = list(response.streaming_content)

    assert len(chunks) >= 3  # header, a full chunk, the rest: never one big string
    assert sum(c.count(b"\n") for c in chunks) == services.CHUNK + 6


def test_an_export_over_a_year_takes_every_day_of_it_and_nothing_outside(token_client, cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from exports import services

    year_start = timezone.now() - timedelta(days=365)
    before = factories.TicketFactory(created_at=year_start - timedelta(days=2))
    first = factories.TicketFactory(created_at=year_start + timedelta(hours=1))
    customer = factories.CustomerFactory()
    middle = factories.TicketFactory.create_batch(
        services.CHUNK + 3, customer=customer, created_at=year_start + timedelta(days=180)
    )
    last = factories.TicketFactory(created_at=timezone.now() - timedelta(minutes=5))
    window = {
        "from": timezone.localdate(year_start).isoformat(),
        "to": timezone.localdate().isoformat(),
    }

    with CaptureQueriesContext(connection) as queries:
        rows = _rows(token_client(cast.carol).get("/api/v1/exports/tickets.csv", window))

    assert [int(r["id"]) for r in rows] == [first.pk, *(t.pk for t in middle), last.pk]
    assert before.pk not in {int(r["id"]) for r in rows}
    # Tags are read once per chunk of rows, never once per ticket.
    tag_reads = [q for q in queries if "tickets_ticket_tags" in q["sql"]]
    assert len(tag_reads) == 2


def test_lines_are_pulled_one_chunk_at_a_time_for_daphne():
    """Under ASGI Django would read a plain generator to the end before sending a byte; the
    export's response is pulled one chunk per step (core.streaming, for every large stream) and
    the rest is closed when the client goes away."""
    from asgiref.sync import async_to_sync

    from core.streaming import pull_on_request_thread

    pulled: list[int] = []
    closed: list[bool] = []

    def lines():
        try:
            for n in range(1000):
                pulled.append(n)
                yield f"line {n}\n"
        finally:
            closed.append(True)

    async def first_two() -> list[str]:
        chunks = pull_on_request_thread(lines())
        got = [await anext(chunks), await anext(chunks)]
        await chunks.aclose()  # the client went away
        return got

    assert async_to_sync(first_two)() == ["line 0\n", "line 1\n"]
    assert pulled == [0, 1] and closed == [True]


@pytest.mark.live
def test_a_large_export_streams_through_daphne_with_formulas_neutralised(live_server, cast):
    import urllib3

    from accounts.services import issue_api_token
    from exports import services

    customer = factories.CustomerFactory(name='=HYPERLINK("http://evil.example")')
    factories.TicketFactory.create_batch(services.CHUNK + 5, customer=customer, subject="@SUM(1)")
    token = issue_api_token(cast.carol)

    response = urllib3.request(
        "GET",
        f"{live_server.url}/api/v1/exports/tickets.csv",
        headers={"Authorization": f"Bearer {token}"},
        preload_content=False,
        timeout=30,
    )
    chunks = list(response.stream(65536))

    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "Content-Length" not in response.headers  # streamed, not built whole
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == services.CHUNK + 5
    assert {r["subject"] for r in rows} == {"'@SUM(1)"}
    assert {r["customer_name"] for r in rows} == {'\'=HYPERLINK("http://evil.example")'}
