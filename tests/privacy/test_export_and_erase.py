"""A person's data: exported whole (inline, or once by an expiring link) and erased everywhere,
with the grant ledger reconciling to the cent before and after."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.files.base import ContentFile
from django.db.models import Count, Sum
from django.test import Client
from django.utils import timezone

from accounts.services import issue_api_token
from attachments.models import Attachment
from audit.models import AuditEntry
from csat.models import Survey
from customers.models import Customer, CustomerEmail
from livechat import services as chat
from livechat.models import ChatAuthorType, ChatMessage, Conversation
from mailer.models import OutboundEmail
from privacy.models import Erasure, ExportJob
from tests import factories
from tickets import services as tickets
from tickets.inbound import ingest_raw_email
from tickets.models import InboundEmail, Message, Ticket
from wow_credits import services as wow
from wow_credits.models import Grant

SAM = "sam.best@example.com"
SECRET_WORD = "zanzibarquokka"  # appears only in Sam's mail, to check the search index


@pytest.fixture
def sam(db, cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Sam writes in by email (the raw is kept), an agent replies (an outgoing mail row), Sam chats,
    # rates, has an order with an address, and receives two grants.
    raw = EmailMessage()
    raw["From"] = f"Sam Best <{SAM}>"
    raw["To"] = "support@support.example.com"
    raw["Subject"] = f"My {SECRET_WORD} shoes"
    raw["Message-ID"] = make_msgid(domain="example.com")
    raw.set_content(f"Hi, my phone is +1 555 0100 and the {SECRET_WORD} never came.")
    result = ingest_raw_email(raw.as_bytes(), source="webhook")
    ticket = Ticket.objects.get(pk=result.ticket_id)
    customer = ticket.customer
    CustomerEmail.objects.create(customer=customer, address="sam.work@example.com")
    first = ticket.messages.first()
    attachment = Attachment(
        ticket=ticket,
        message=first,
        filename="receipt.pdf",
        content_type="application/pdf",
        size=9,
        source="email",
    )
    attachment.file.save("x", ContentFile(b"%PDF-1.4\n"), save=True)
    tickets.add_agent_reply(ticket, by=cast.alice, body_text="Sorry Sam, a new pair is on its way.")
    conversation, _ = chat.start_session(
        name="Sam Best", email=SAM, page_url="https://shop.example/cart"
    )
    chat.post_message(
        conversation.pk, author_type=ChatAuthorType.VISITOR, body="I live at 1 Elm Road"
    )
    photo = Attachment(
        conversation=conversation,
        filename="doorstep.png",
        content_type="image/png",
        size=8,
        source="visitor",
    )
    photo.file.save("y", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    Survey.objects.create(
        ticket=ticket, customer=customer, email=SAM, rating=5, comment="Sam says thanks"
    )
    order = factories.OrderFactory(customer=customer, total=Decimal("120.00"))
    factories.ShipmentFactory(order=order, address="1 Elm Road, Springfield")
    for amount in ("10.00", "25.50"):
        wow.grant(
            "refund",
            by=cast.alice,
            reason="Late parcel",
            idempotency_key=str(uuid.uuid4()),
            customer=customer,
            order=order,
            amount=amount,
        )
    return customer


def _ledger(customer: Customer) -> dict:
    grants = Grant.objects.filter(customer=customer)
    return {
        "rows": grants.count(),
        "sum": grants.aggregate(total=Sum("amount"))["total"],
        "by_kind": list(
            grants.values("kind", "status")
            .annotate(n=Count("id"), total=Sum("amount"))
            .order_by("kind", "status")
        ),
        "reasons": sorted(grants.values_list("reason", flat=True)),
    }


def test_a_manager_exports_everything_held_about_a_person_inline(sam, cast):
    agent = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}")
    assert agent.get(f"/api/v1/customers/{sam.pk}/export").status_code == 403
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.carol)}")

    response = manager.get(f"/api/v1/customers/{sam.pk}/export")

    assert response.status_code == 200
    assert AuditEntry.objects.filter(action="customer.exported", object_id=str(sam.pk)).exists()
    doc = response.json()
    assert doc["profile"]["id"] == sam.pk and doc["profile"]["name"]
    assert {e["address"] for e in doc["emails"]} == {SAM, "sam.work@example.com"}
    messages = [m["body"] for t in doc["tickets"] for m in t["messages"]]
    assert any(SECRET_WORD in body for body in messages)
    assert any("new pair" in body for body in messages)
    assert doc["chats"][0]["messages"][0]["body"] == "I live at 1 Elm Road"
    assert doc["orders"][0]["shipments"][0]["address"] == "1 Elm Road, Springfield"
    assert sorted(g["amount"] for g in doc["grants"]) == ["10.00", "25.50"]
    assert doc["csat"][0]["comment"] == "Sam says thanks"
    assert {a["filename"] for a in doc["attachments"]} == {"receipt.pdf", "doorstep.png"}


def test_a_large_history_is_built_in_the_background_and_downloads_once(
    sam, cast, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORTDESK_EXPORT_INLINE_MAX_ITEMS = 2  # Sam's history is bigger than that
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.carol)}")

    with django_capture_on_commit_callbacks(execute=True):
        started = manager.get(f"/api/v1/customers/{sam.pk}/export")

    assert started.status_code == 202
    body = started.json()
    # Celery runs eagerly in the tests; the job is ready once the request committed.
    status = manager.get(body["status_url"]).json()
    assert status["status"] == "ready"
    link = body["download_url"].split("testserver", 1)[1]
    with django_capture_on_commit_callbacks(execute=True):
        first = Client().get(link)
    assert first.status_code == 200 and first["Content-Disposition"].startswith("attachment")
    assert SECRET_WORD in b"".join(first.streaming_content).decode()
    again = Client().get(link)
    assert again.status_code == 410 and again.json()["code"] == "gone"
    assert ExportJob.objects.get().file.name == ""
    assert Client().get("/privacy/exports/forged-link/").status_code == 404


def test_an_expired_link_downloads_nothing(sam, cast, settings):
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.carol)}")
    body = manager.get(f"/api/v1/customers/{sam.pk}/export?background=true").json()
    ExportJob.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().get(body["download_url"].split("testserver", 1)[1])

    assert response.status_code == 410


def test_erasure_removes_the_person_everywhere_and_the_ledger_still_reconciles(
    sam, cast, django_capture_on_commit_callbacks
):
    before = _ledger(sam)
    grant_ids = sorted(Grant.objects.filter(customer=sam).values_list("pk", flat=True))
    files = [a.file.path for a in Attachment.objects.all()]
    assert len(files) == 2  # the receipt mailed in, the photo sent in the chat
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.carol)}")
    assert manager.post(f"/api/v1/customers/{sam.pk}/erase").status_code == 403
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.dave)}")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/api/v1/customers/{sam.pk}/erase")

    assert response.status_code == 200 and response.json()["erased"] is True
    sam.refresh_from_db()
    assert sam.name == "[erased]" and not CustomerEmail.objects.filter(customer=sam).exists()
    assert not CustomerEmail.objects.filter(address__in=[SAM, "sam.work@example.com"]).exists()
    for message in Message.objects.filter(ticket__customer=sam):
        assert message.body_text == "[redacted]" and message.body_html == ""
    assert set(Ticket.objects.filter(customer=sam).values_list("subject", flat=True)) == {
        "[redacted]"
    }
    assert not Attachment.objects.exists()
    assert not any(__import__("os").path.exists(path) for path in files)
    assert not InboundEmail.objects.filter(ticket__customer=sam).exists()
    for mail in OutboundEmail.objects.all():
        assert SAM not in str(mail.to) and "Sam" not in mail.body_text and mail.raw_message is None
    conversation = Conversation.objects.get()
    assert (conversation.visitor_name, conversation.visitor_email, conversation.page_url) == (
        "",
        "",
        "",
    )
    assert set(ChatMessage.objects.values_list("body", flat=True)) == {"[redacted]"}
    survey = Survey.objects.get()
    assert (survey.email, survey.comment, survey.rating) == ("", "", 5)
    assert set(sam.orders.values_list("shipments__address", flat=True)) == {"[redacted]"}
    # The search index no longer finds Sam's words.
    agent = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}")
    assert agent.get(f"/api/v1/tickets?q={SECRET_WORD}").json()["items"] == []
    # The ledger: the same rows, amounts and reasons, under the same (now anonymous) subject.
    assert sorted(Grant.objects.filter(customer=sam).values_list("pk", flat=True)) == grant_ids
    assert _ledger(sam) == before
    assert before["sum"] == Decimal("35.50")
    # Audited, without the erased data.
    erasure = Erasure.objects.get(customer=sam)
    assert erasure.erased_by == cast.dave and erasure.counts["chat_lines"] == 1
    entry = AuditEntry.objects.get(action="customer.erased")
    assert entry.object_id == str(sam.pk) and entry.actor_id == cast.dave.pk
    logged = json.dumps(entry.detail)
    for secret in (SAM, "Sam Best", "Elm Road", SECRET_WORD, "555 0100"):
        assert secret not in logged and secret not in str(erasure.counts)


def test_retention_runs_in_the_sweep(db, settings, cast):
    from django.core.management import call_command

    settings.SUPPORTDESK_RETAIN_RAW_MAIL_DAYS = 30
    settings.SUPPORTDESK_RETAIN_ANONYMOUS_CHATS_DAYS = 7
    raw = EmailMessage()
    raw["From"] = "pat@shop.example"
    raw["To"] = "support@support.example.com"
    raw["Subject"] = "Old"
    raw["Message-ID"] = make_msgid(domain="shop.example")
    raw.set_content("Old mail")
    old = ingest_raw_email(raw.as_bytes(), source="webhook")
    InboundEmail.objects.filter(pk=old.inbound_id).update(
        received_at=timezone.now() - timedelta(days=31)
    )
    raw.replace_header("Message-ID", make_msgid(domain="shop.example"))
    recent = ingest_raw_email(raw.as_bytes(), source="webhook")
    anonymous, _ = chat.start_session(name="Guest", email="", page_url="https://shop.example/")
    chat.post_message(anonymous.pk, author_type=ChatAuthorType.VISITOR, body="just browsing")
    chat.end_conversation(anonymous.pk)
    known, _ = chat.start_session(name="Kim", email="kim@shop.example")
    chat.post_message(known.pk, author_type=ChatAuthorType.VISITOR, body="keep me")
    chat.end_conversation(known.pk)
    Conversation.objects.update(ended_at=timezone.now() - timedelta(days=8))

    call_command("sweep")

    assert bytes(InboundEmail.objects.get(pk=old.inbound_id).raw) == b""
    assert bytes(InboundEmail.objects.get(pk=recent.inbound_id).raw) != b""
    anonymous.refresh_from_db()
    assert anonymous.visitor_name == "" and anonymous.page_url == ""
    assert set(anonymous.messages.values_list("body", flat=True)) == {"[redacted]"}
    assert "keep me" in known.messages.values_list("body", flat=True)
    assert "[redacted]" not in known.messages.values_list("body", flat=True)
