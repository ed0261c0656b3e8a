"""The outbox: mail captured in the embedded profile, and the delivery state of all outgoing mail."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_string, policy

import nh3
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from mailer.models import CapturedEmail, OutboundEmail


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    captured = CapturedEmail.objects.only("id", "subject", "to", "from_email", "captured_at")[:200]
    pending = OutboundEmail.objects.exclude(status="sent").order_by("-created_at")[:100]
    return render(request, "mailer/outbox.html", {"captured": captured, "pending": pending})


@dataclass(frozen=True)
class RenderedEmail:
    """A captured email as its reader would see it: the text and HTML bodies and the files."""

    headers: list[tuple[str, str]]
    text: str
    html: str
    attachments: list[tuple[str, str, int]]  # filename, content type, size in bytes


def render_email(raw: str) -> RenderedEmail:
    message = message_from_string(raw, policy=policy.default)
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    attachments = [
        (
            part.get_filename() or "unnamed",
            part.get_content_type(),
            len(part.get_payload(decode=True) or b""),
        )
        for part in message.iter_attachments()
    ]
    return RenderedEmail(
        headers=[(name, str(value)) for name, value in message.items()],
        text=text_part.get_content() if text_part is not None else "",
        # Our own mail, but it quotes what customers and agents wrote: sanitised like any HTML.
        html=nh3.clean(html_part.get_content()) if html_part is not None else "",
        attachments=attachments,
    )


@login_required
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(CapturedEmail, pk=pk)
    context = {"email": email, "rendered": render_email(email.raw)}
    return render(request, "mailer/outbox_message.html", context)
