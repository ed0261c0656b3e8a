"""The ticket page: thread rendering, reply and note, side form, follow-ups, collisions, downloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from attachments.models import Attachment
from mailer.models import OutboundEmail
from supportdesk.celery import app as celery_app
from tests import factories
from tickets import services
from tickets.models import (
    AuthorType,
    FollowUp,
    FollowUpStatus,
    Message,
    Status,
    Ticket,
)


@pytest.fixture
def alice_client(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


@pytest.fixture
def ticket(db) -> Ticket:
    customer = factories.CustomerFactory(name="Ben Best", email="ben@shop.example")
    ticket, _ = services.create_ticket(
        services.NewTicket(
            customer=customer,
            subject="Wedding shoes went to the wrong address",
            body_text="Please help, the wedding is tomorrow.",
            channel="email",
            message_id="<first@shop.example>",
        )
    )
    return ticket


def _last_seen(html: str) -> str:
    return re.search(r'name="last_seen_message_id" value="(\d+)"', html).group(1)


def test_ticket_page_renders_sanitised_html_without_scripts(alice_client, ticket) -> None:
    services.add_customer_message(
        ticket,
        customer=ticket.customer,
        body_text="",
        body_html=(
            '<p>Hello <b>there</b></p><script>alert("x")</script>'
            '<img src="https://evil.example/pixel.gif" onerror="alert(2)">'
            '<a href="javascript:alert(3)" onclick="steal()">click</a>'
        ),
    )
    html = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    thread = html.split('<ol class="thread">')[1].split("</ol>")[0]
    assert "<b>there</b>" in thread
    assert "<script" not in thread
    assert "onerror" not in thread
    assert "onclick" not in thread
    assert "javascript:" not in thread
    assert "evil.example" not in thread


def test_plain_text_bodies_are_escaped(alice_client, ticket) -> None:
    services.add_customer_message(
        ticket, customer=ticket.customer, body_text="<b>not bold</b>\nsecond line"
    )
    html = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "&lt;b&gt;not bold&lt;/b&gt;<br>second line" in html


def test_ticket_page_shows_the_customer_sidebar_in_few_queries(
    cast, alice_client, ticket, django_assert_max_num_queries
) -> None:
    for n in range(3):
        order = factories.OrderFactory(customer=ticket.customer, external_id=f"SHOE-{n}")
        factories.OrderItemFactory(order=order, name=f"Oxford shoes #{n}")
        factories.ShipmentFactory(order=order, tracking=f"1ZTRACK{n}", carrier="UPS")
    factories.TicketFactory(customer=ticket.customer, subject="An older question")
    services.add_agent_reply(ticket, by=cast.alice, body_text="A note", internal=True)
    # 18: one reads the business hours (the follow-up form offers "next business morning"),
    # one upserts the agent's read marker (the inbox's unread state).
    with django_assert_max_num_queries(18):
        html = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    for needle in ("ben@shop.example", "SHOE-2", "Oxford shoes #1", "1ZTRACK0", "promised by"):
        assert needle in html
    assert "An older question" in html
    assert "Standard" in html and "Customer" in html


def test_internal_notes_are_marked_distinctly(cast, alice_client, ticket) -> None:
    services.add_agent_reply(ticket, by=cast.alice, body_text="Check the warehouse", internal=True)
    html = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert re.search(
        r'class="msg internal"[^>]*>.*?Internal note.*?Check the warehouse', html, re.S
    )


def test_reply_through_the_form_is_emailed_with_threading_headers(
    alice_client, ticket, smtp_sink, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    # The test process loads settings before conftest's SUPPORTDESK_CELERY_EAGER default applies,
    # so run this process's delivery task in-process explicitly (the live server gets it via env).
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    page = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            f"/tickets/{ticket.pk}/reply",
            {
                "body": "A new pair ships overnight.",
                "internal": "0",
                "status": "pending",
                "last_seen_message_id": _last_seen(page),
            },
        )
    assert response.status_code == 302
    outbound = OutboundEmail.objects.get(ticket_id=ticket.pk)
    assert outbound.to == ["ben@shop.example"]
    [mail] = smtp_sink.wait_for(1)
    assert mail["In-Reply-To"] == "<first@shop.example>"
    assert "<first@shop.example>" in mail["References"]
    assert mail["Message-ID"] == outbound.message_id
    assert "A new pair ships overnight." in mail.get_body(("plain",)).get_content()
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert ticket.assignee_id is not None


def test_internal_note_through_the_form_sends_nothing(alice_client, ticket) -> None:
    page = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    response = alice_client.post(
        f"/tickets/{ticket.pk}/reply",
        {"body": "Only for us", "internal": "1", "last_seen_message_id": _last_seen(page)},
    )
    assert response.status_code == 302
    assert Message.objects.get(body_text="Only for us").internal is True
    assert not OutboundEmail.objects.filter(ticket_id=ticket.pk).exists()


def test_reply_warns_when_a_newer_message_arrived_and_keeps_the_draft(
    cast, alice_client, ticket
) -> None:
    page = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    seen = _last_seen(page)
    services.add_customer_message(ticket, customer=ticket.customer, body_text="Actually, size 11!")
    draft = {"body": "Size 10 ships tonight.", "internal": "0", "last_seen_message_id": seen}

    response = alice_client.post(f"/tickets/{ticket.pk}/reply", draft)
    assert response.status_code == 409
    html = response.content.decode()
    assert "moved on" in html
    assert "Actually, size 11!" in html
    assert "Size 10 ships tonight." in html  # the draft is kept
    assert "Send anyway" in html
    assert not Message.objects.filter(author_type=AuthorType.AGENT).exists()

    confirmed = {**draft, "confirm": "True", "last_seen_message_id": _last_seen(html)}
    response = alice_client.post(f"/tickets/{ticket.pk}/reply", confirmed)
    assert response.status_code == 302
    assert Message.objects.filter(body_text="Size 10 ships tonight.").count() == 1


def test_internal_notes_by_others_do_not_trigger_the_collision_warning(
    cast, alice_client, ticket
) -> None:
    page = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    services.add_agent_reply(ticket, by=cast.bob, body_text="FYI", internal=True)
    response = alice_client.post(
        f"/tickets/{ticket.pk}/reply",
        {"body": "Hello", "internal": "0", "last_seen_message_id": _last_seen(page)},
    )
    assert response.status_code == 302


def test_side_form_changes_status_priority_assignee_type_and_tags(
    cast, alice_client, ticket
) -> None:
    response = alice_client.post(
        f"/tickets/{ticket.pk}/update",
        {
            "status": "open",
            "priority": "urgent",
            "type": "problem",
            "assignee": str(cast.bob.pk),
            "tags": "Wedding, shoes",
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.type) == ("open", "urgent", "problem")
    assert ticket.assignee == cast.bob
    assert sorted(t.name for t in ticket.tags.all()) == ["shoes", "wedding"]

    response = alice_client.post(
        f"/tickets/{ticket.pk}/update",
        {"status": "open", "priority": "urgent", "type": "problem", "assignee": "", "tags": ""},
    )
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not ticket.tags.exists()


def test_follow_up_is_read_in_server_time_listed_and_cancelled(
    alice_client, ticket, settings
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    response = alice_client.post(
        f"/tickets/{ticket.pk}/follow-ups",
        {"send_at": "2030-01-15T09:00", "body": "Did the shoes fit?"},
    )
    assert response.status_code == 302
    follow_up = FollowUp.objects.get(ticket=ticket)
    assert follow_up.send_at == datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
    html = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Did the shoes fit?" in html

    response = alice_client.post(f"/tickets/{ticket.pk}/follow-ups/{follow_up.pk}/cancel")
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.CANCELLED


def test_follow_up_in_the_past_is_refused(alice_client, ticket) -> None:
    response = alice_client.post(
        f"/tickets/{ticket.pk}/follow-ups", {"send_at": "2001-01-01T09:00", "body": "Late"}
    )
    assert response.status_code == 400
    assert not FollowUp.objects.exists()


def test_attachments_download_as_files_never_inline(
    alice_client, ticket, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    message = ticket.messages.first()
    attachment = Attachment(
        ticket=ticket,
        message=message,
        filename="evil.html",
        content_type="text/html",
        size=30,
        source="email",
    )
    attachment.file.save("x", ContentFile(b"<script>alert('pwned')</script>"), save=True)
    html = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'href="/attachments/{attachment.pk}/"' in html

    response = alice_client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="evil.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>alert('pwned')</script>"

    # Not an agent, no token, no signed link: as if it did not exist.
    assert Client().get(f"/attachments/{attachment.pk}/").status_code == 404
