"""The outbox: mail captured in the embedded profile, and the delivery state of all outgoing mail."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from mailer.models import CapturedEmail, OutboundEmail


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    captured = CapturedEmail.objects.only("id", "subject", "to", "from_email", "captured_at")[:200]
    pending = OutboundEmail.objects.exclude(status="sent").order_by("-created_at")[:100]
    return render(request, "mailer/outbox.html", {"captured": captured, "pending": pending})


@login_required
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(CapturedEmail, pk=pk)
    return render(request, "mailer/outbox_message.html", {"email": email})
