"""The `mailbox:<id>` mail transport: a mailbox's own SMTP server, when it has one."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.secrets import decrypt
from mailboxes.models import Mailbox, Security


def smtp_for_mailbox(key: str) -> dict[str, Any] | None:
    """Django SMTP backend settings for mailbox `key`; None (the global server) when the mailbox
    is gone or has no SMTP settings."""
    try:
        mailbox = Mailbox.objects.filter(pk=int(key)).first()
    except ValueError:
        return None
    if mailbox is None or not mailbox.has_smtp:
        return None
    security = mailbox.smtp_security
    port = mailbox.smtp_port or {"ssl": 465, "starttls": 587}.get(security, 25)
    return {
        "host": mailbox.smtp_host,
        "port": port,
        # "" rather than None: None would make Django fall back to the global EMAIL_HOST_USER.
        "username": mailbox.smtp_username,
        "password": decrypt(mailbox.smtp_password_encrypted),
        "use_ssl": security == Security.SSL,
        "use_tls": security == Security.STARTTLS,
        "timeout": settings.EMAIL_TIMEOUT,
    }
