"""Who may open an attachment's url: agents; the visitor of its chat (visitor token); the customer
of its ticket (the signed link in their email). Anyone else gets 404, as if it did not exist."""

from __future__ import annotations

from django.test import Client

from attachments.services import signed_url
from tests import factories
from tests.helpers.attachments import photo_with_location, upload
from tickets import services as ticket_services

PDF = b"%PDF-1.7\n%%EOF\n"


def test_a_visitor_reads_their_own_files_and_nobody_elses(visitor, other_visitor, api_client):
    mine = visitor.upload("photo.jpg", photo_with_location()).json()
    theirs = other_visitor.upload("theirs.pdf", PDF).json()

    assert visitor.client().get(mine["url"]).status_code == 200
    assert visitor.client().get(mine["thumbnail_url"]).status_code == 200
    # Another conversation's file, its thumbnail, a made-up id: all the same 404.
    assert visitor.client().get(theirs["url"]).status_code == 404
    assert other_visitor.client().get(mine["thumbnail_url"]).status_code == 404
    assert visitor.client().get("/attachments/999999/").status_code == 404
    assert Client().get(mine["url"]).status_code == 404
    assert Client(HTTP_AUTHORIZATION="Bearer forged").get(mine["url"]).status_code == 404
    # Agents read every conversation's files.
    assert api_client.get(theirs["url"]).status_code == 200


def test_an_agents_unsent_upload_is_for_agents_only(api_client, visitor):
    draft = upload(api_client, "/api/v1/uploads", "label.pdf", PDF).json()

    assert api_client.get(draft["url"]).status_code == 200
    assert visitor.client().get(draft["url"]).status_code == 404
    assert Client().get(draft["url"]).status_code == 404


def test_the_customer_opens_a_reply_file_with_the_signed_link_from_their_email(cast, api_client):
    customer = factories.CustomerFactory(email="pat@shop.example")
    ticket, _ = ticket_services.create_ticket(
        ticket_services.NewTicket(
            customer=customer, subject="Crushed box", body_text="See photo", channel="email"
        )
    )
    other, _ = ticket_services.create_ticket(
        ticket_services.NewTicket(
            customer=factories.CustomerFactory(email="eve@shop.example"),
            subject="Other",
            body_text="x",
            channel="email",
        )
    )
    label = upload(api_client, "/api/v1/uploads", "label.pdf", PDF).json()
    note = upload(api_client, "/api/v1/uploads", "other.pdf", PDF).json()
    api_client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        {"body": "Your label", "attachment_ids": [label["id"]]},
        content_type="application/json",
    )
    api_client.post(
        f"/api/v1/tickets/{other.pk}/replies",
        {"body": "Theirs", "attachment_ids": [note["id"]]},
        content_type="application/json",
    )
    from attachments.models import Attachment

    link = signed_url(Attachment.objects.get(pk=label["id"]))
    path = link.split("://", 1)[1].split("/", 1)[1]

    response = Client().get("/" + path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    # The link opens that one file: not another one with the same signature, not a forged one.
    signature = path.split("?sig=", 1)[1]
    assert Client().get(f"{note['url']}?sig={signature}").status_code == 404
    assert Client().get(f"{label['url']}?sig={signature[:-2]}xx").status_code == 404
    assert Client().get(label["url"]).status_code == 404


def test_every_file_is_served_as_a_download_that_runs_nothing(visitor):
    photo = visitor.upload("photo.jpg", photo_with_location()).json()

    response = visitor.client().get(photo["url"])

    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
