"""CSAT results: the agent's summary, the weekly trend, WOWed customers against others, reports."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from csat import services
from customers.services import customer_for_email
from tickets import services as tickets
from wow_credits import services as wow


def _rated(agent, email: str, rating: int, comment: str = "") -> None:
    ticket, _ = tickets.create_ticket(
        tickets.NewTicket(customer=customer_for_email(email), subject="Help", body_text="Hello")
    )
    tickets.change_ticket(
        ticket,
        by=agent,
        changes=tickets.TicketChanges(status="solved", reassign=True, assignee=agent),
    )
    survey = services.request_for_ticket(ticket)
    services.record_rating(services.issue_token(survey), rating, comment)


def test_the_agent_summary_counts_averages_and_quotes_recent_comments(cast):
    _rated(cast.alice, "a@shop.example", 5, "Lovely")
    _rated(cast.alice, "b@shop.example", 4)
    _rated(cast.alice, "c@shop.example", 2, "<b>meh</b>")
    _rated(cast.bob, "d@shop.example", 1, "Not bob's fault")

    summary = services.summary_for_agent(cast.alice)
    assert summary.count == 3
    assert summary.average == 3.67
    assert summary.distribution == {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}
    assert [c.comment for c in summary.recent_comments] == ["<b>meh</b>", "Lovely"]

    html = render_to_string("csat/partials/agent_summary.html", {"csat_summary": summary})
    assert "3.67" in html and "&lt;b&gt;meh&lt;/b&gt;" in html and "<b>meh</b>" not in html
    assert "Not bob" not in html
    empty = services.summary_for_agent(cast.carol)
    assert (empty.count, empty.average) == (0, None)
    assert "No customer ratings yet." in render_to_string(
        "csat/partials/agent_summary.html", {"csat_summary": empty}
    )


def test_the_trend_is_weekly_count_and_average(cast):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=14), tick=False):
        _rated(cast.alice, "a@shop.example", 2)
        _rated(cast.alice, "b@shop.example", 3)
    _rated(cast.alice, "c@shop.example", 5)
    points = services.trend(30)
    assert [(p.count, p.average) for p in points] == [(2, 2.5), (1, 5.0)]
    assert points[0].week < points[1].week
    assert services.trend(7) == points[1:]


def test_wowed_customers_ratings_are_compared_with_the_others(cast, settings):
    settings.SUPPORTDESK_UNDO_SECONDS = 0
    wowed = customer_for_email("vip@shop.example", name="Vip")
    wow.grant("vip_upgrade", by=cast.alice, customer=wowed, reason="Wedding", idempotency_key="k1")
    assert wow.execute_due() == 1
    _rated(cast.alice, "vip@shop.example", 5)
    _rated(cast.alice, "other@shop.example", 3)
    _rated(cast.bob, "third@shop.example", 2)
    comparison = services.wow_comparison(90)
    assert (comparison.wowed.count, comparison.wowed.average) == (1, 5.0)
    assert (comparison.others.count, comparison.others.average) == (2, 2.5)


def test_the_reports_page_charts_the_trend_and_the_wow_comparison(cast):
    _rated(cast.alice, "a@shop.example", 4)
    _rated(cast.bob, "b@shop.example", 5)
    client = Client()
    client.force_login(cast.carol)
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer satisfaction (CSAT) per week" in html
    assert "<title>Average CSAT per week</title>" in html
    assert "<title>CSAT ratings per week</title>" in html
    assert "CSAT of WOWed customers vs others" in html
    assert "4.5 / 5" in html or "4.50 / 5" in html


def test_the_demo_command_leaves_a_trend_for_the_reports(cast):
    from django.core.management import call_command

    from customers.models import Customer

    for n in range(3):
        customer_for_email(f"demo{n}@shop.example")
    cast.alice.email = "alice@demo.supportdesk"
    cast.alice.save()
    assert Customer.objects.count() == 3
    call_command("load_csat_demo")
    assert len(services.trend(90)) >= 10
    call_command("load_csat_demo")  # once: a second run adds nothing
    assert services.summary_for_agent(cast.alice).count == 48
