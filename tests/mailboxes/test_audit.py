"""Adding, changing and removing a mailbox is in the audit log, with its settings but no secret."""

from __future__ import annotations

import json

from audit.models import AuditEntry
from mailboxes import services
from mailboxes.services import ImapSettings


def test_mailbox_changes_are_audited_without_their_secrets(db) -> None:
    mailbox = services.create_mailbox(
        address="support@shop.example",
        imap_settings=ImapSettings(
            host="imap.shop.example", username="support", password="first-secret-pw"
        ),
    )
    services.update_mailbox(
        mailbox,
        imap_settings=ImapSettings(
            host="mail.shop.example", username="support", password="second-secret-pw"
        ),
    )
    services.delete_mailbox(mailbox)

    entries = list(AuditEntry.objects.filter(object_type="mailbox").order_by("id"))
    assert [e.action for e in entries] == ["mailbox.created", "mailbox.updated", "mailbox.deleted"]
    assert entries[0].detail["address"] == "support@shop.example"
    stored = json.dumps([e.detail for e in entries])
    assert "imap.shop.example" in stored and "mail.shop.example" in stored
    assert "first-secret-pw" not in stored and "second-secret-pw" not in stored
    assert "[redacted]" in stored  # the password changed, and the log says so without it
