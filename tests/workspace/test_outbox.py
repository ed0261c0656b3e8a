"""The embedded profile's outbox shows an email as its reader sees it, headers behind a toggle."""

from __future__ import annotations

from email.message import EmailMessage

from mailer.models import CapturedEmail


def _captured(message: EmailMessage) -> CapturedEmail:
    return CapturedEmail.objects.create(
        message_id=message["Message-ID"],
        from_email=message["From"],
        to=[message["To"]],
        subject=message["Subject"],
        raw=message.as_string(),
    )


def test_the_outbox_renders_text_html_and_files_with_headers_behind_a_toggle(client, cast) -> None:
    message = EmailMessage()
    message["From"] = "Alice <support@shop.example>"
    message["To"] = "sam@example.com"
    message["Subject"] = "Your return label"
    message["Message-ID"] = "<label-1@shop.example>"
    message.set_content("Here is the label.\nPrint it and drop the box at any UPS store.")
    message.add_alternative(
        "<p>Here is the <b>label</b>.</p><script>alert(1)</script>", subtype="html"
    )
    message.add_attachment(b"%PDF-1.4 label", maintype="application", subtype="pdf",
                           filename="label.pdf")  # fmt: skip
    email = _captured(message)
    client.force_login(cast.alice)

    page = client.get(f"/outbox/{email.pk}/").content.decode()

    assert "Here is the <b>label</b>." in page
    assert "<script>alert(1)</script>" not in page
    assert "Print it and drop the box" in page
    assert "label.pdf" in page and "application/pdf" in page
    headers = page.index("<summary>Headers</summary>")
    assert page.index("Message-ID", headers) > headers
