"""In Chromium: an agent picks a return label and drops a photo on the reply box, sends, and the
email reaches the SMTP sink with both files as MIME parts; the ticket shows the photo's thumbnail."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from tests.helpers.attachments import photo_with_location
from tests.helpers.browser import login
from tests.helpers.inbound import post_inbound_email
from tickets.models import Ticket

LABEL = b"%PDF-1.7\n% return label DHL 00340434161094042557\n%%EOF\n"


@pytest.mark.browser
@pytest.mark.live
def test_an_agent_attaches_a_label_to_a_reply_and_it_arrives_at_the_sink(
    cast, live_server, page, smtp_server
) -> None:
    # Filed by the live server (the customer's email): Playwright's event loop on this thread
    # rules out publishing realtime events from the test process itself.
    first = EmailMessage()
    first["From"] = "Pat Customer <pat@shop.example>"
    first["To"] = "support@support.example.com"
    first["Subject"] = "The box arrived crushed"
    first["Message-ID"] = "<crushed-7@shop.example>"
    first.set_content("Can I send it back?")
    ticket = Ticket.objects.get(pk=post_inbound_email(live_server, first.as_bytes())["ticket_id"])
    photo = photo_with_location(size=(640, 480))

    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.fill("#reply textarea[name=body]", "Here is your return label, and how to pack it.")
    # Pick: the file input.
    page.set_input_files(
        "#reply input[type=file]",
        files=[{"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": LABEL}],
    )
    # Drop: a photo dragged from the desktop onto the reply form.
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "how-to-pack.jpg", {type: "image/jpeg"}));
            const form = document.querySelector("form[data-composer]");
            form.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        base64.b64encode(photo).decode(),
    )
    picked = page.locator("#reply [data-picked] li")
    assert picked.count() == 2
    assert "return-label.pdf" in picked.nth(0).inner_text()
    assert "how-to-pack.jpg" in picked.nth(1).inner_text()
    page.click("#reply button[type=submit]")
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    assert page.locator(".flash").inner_text().strip() == "Reply sent."

    [mail] = smtp_server.wait_for(1, timeout=20)
    assert mail["To"] == "pat@shop.example"
    assert mail["In-Reply-To"] == "<crushed-7@shop.example>"
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(parts) == {"return-label.pdf", "how-to-pack.jpg"}
    assert parts["return-label.pdf"].get_content() == LABEL
    assert parts["how-to-pack.jpg"].get_content_type() == "image/jpeg"
    assert b"Phone 15" not in parts["how-to-pack.jpg"].get_content()

    thumbnail = page.locator(".thread img.thumb")
    thumbnail.wait_for()
    # The thumbnail loads (the element is in the page before its bytes have arrived).
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
