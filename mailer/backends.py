"""The embedded profile's email backend: store each message instead of sending it."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from mailer.models import CapturedEmail


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            mime = message.message()
            CapturedEmail.objects.create(
                message_id=str(mime.get("Message-ID", "")),
                from_email=message.from_email,
                to=list(message.recipients()),
                subject=str(mime.get("Subject", "")),
                body_text=str(message.body),
                raw=mime.as_string(),
            )
        return len(email_messages)
