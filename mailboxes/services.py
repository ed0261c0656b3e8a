"""Mailbox operations: add, change, pause, remove, test. Fetching is in `mailboxes.fetch`.

Secrets come in as plain arguments and are stored encrypted at once (`core.secrets`); they are
never returned, logged or put in an error message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audit.services import record
from core.secrets import encrypt
from mailboxes import imap
from mailboxes.models import AuthMethod, Mailbox, OAuthProvider, Security

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")


class MailboxInvalid(ValueError):
    """Bad mailbox settings, with a code for the API."""

    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int | None = None
    username: str = ""
    password: str = ""
    security: str = Security.SSL
    folder: str = "INBOX"
    # OAuth2 (XOAUTH2) instead of a password.
    oauth_provider: str = ""
    oauth_refresh_token: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: str = ""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int | None = None
    username: str = ""
    password: str = ""
    security: str = Security.STARTTLS


def _security(value: str, *, what: str) -> str:
    if value not in Security.values:
        raise MailboxInvalid(f"{what} security must be ssl, starttls or none", "invalid_security")
    return value


def _port(value: int | None, *, default: int, what: str) -> int:
    port = default if value in (None, 0) else value
    if not isinstance(port, int) or not 0 < port < 65536:
        raise MailboxInvalid(f"{what} port must be between 1 and 65535", "invalid_port")
    return port


def _host(value: str, *, what: str) -> str:
    host = (value or "").strip()
    if not _HOST.match(host):
        raise MailboxInvalid(f"{what} host must be a host name or address", "invalid_host")
    return host


def _no_controls(value: str, *, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise MailboxInvalid(f"{what} must not contain control characters", "invalid")
    return value


def _apply_imap(mailbox: Mailbox, imap_settings: ImapSettings) -> None:
    security = _security(imap_settings.security, what="IMAP")
    mailbox.imap_security = security
    mailbox.imap_host = _host(imap_settings.host, what="IMAP")
    mailbox.imap_port = _port(
        imap_settings.port, default=993 if security == Security.SSL else 143, what="IMAP"
    )
    mailbox.imap_username = _no_controls(
        imap_settings.username or mailbox.address, what="IMAP user"
    )
    mailbox.folder = _no_controls(imap_settings.folder or "INBOX", what="Folder")[:255]
    if imap_settings.oauth_provider or imap_settings.oauth_refresh_token:
        if imap_settings.oauth_provider not in OAuthProvider.values:
            raise MailboxInvalid("oauth_provider must be google or microsoft", "invalid_oauth")
        if not imap_settings.oauth_refresh_token and not mailbox.oauth_refresh_token_encrypted:
            raise MailboxInvalid("OAuth2 needs a refresh token", "invalid_oauth")
        mailbox.imap_auth = AuthMethod.OAUTH2
        mailbox.oauth_provider = imap_settings.oauth_provider
        mailbox.oauth_client_id = imap_settings.oauth_client_id.strip()
        if imap_settings.oauth_client_secret:
            mailbox.oauth_client_secret_encrypted = encrypt(imap_settings.oauth_client_secret)
        if imap_settings.oauth_refresh_token:
            mailbox.oauth_refresh_token_encrypted = encrypt(imap_settings.oauth_refresh_token)
            mailbox.oauth_access_token_encrypted = ""
            mailbox.oauth_expires_at = None
        mailbox.imap_password_encrypted = ""
    else:
        if not imap_settings.password and not mailbox.imap_password_encrypted:
            raise MailboxInvalid("IMAP needs a password (or an OAuth2 refresh token)", "invalid")
        mailbox.imap_auth = AuthMethod.PASSWORD
        if imap_settings.password:
            mailbox.imap_password_encrypted = encrypt(imap_settings.password)
        mailbox.oauth_provider = ""
        mailbox.oauth_refresh_token_encrypted = mailbox.oauth_access_token_encrypted = ""
        mailbox.oauth_client_secret_encrypted = ""
        mailbox.oauth_expires_at = None


def _apply_smtp(mailbox: Mailbox, smtp_settings: SmtpSettings | None) -> None:
    if smtp_settings is None or not smtp_settings.host:
        mailbox.smtp_host = mailbox.smtp_username = mailbox.smtp_password_encrypted = ""
        mailbox.smtp_port = None
        return
    security = _security(smtp_settings.security, what="SMTP")
    mailbox.smtp_security = security
    mailbox.smtp_host = _host(smtp_settings.host, what="SMTP")
    mailbox.smtp_port = _port(
        smtp_settings.port,
        default={"ssl": 465, "starttls": 587}.get(security, 25),
        what="SMTP",
    )
    mailbox.smtp_username = _no_controls(smtp_settings.username, what="SMTP user")
    if smtp_settings.password:
        mailbox.smtp_password_encrypted = encrypt(smtp_settings.password)
    elif not smtp_settings.username:
        mailbox.smtp_password_encrypted = ""


def _address(value: str) -> str:
    address = (value or "").strip()
    if len(address) > 254 or not _ADDRESS.match(address):
        raise MailboxInvalid(f"{address[:100]!r} is not an email address", "invalid_address")
    return address.lower()


# What an audit entry shows of a mailbox change: its settings, never a secret. A secret that
# changed is named (e.g. "imap_password_encrypted": "[redacted]" both sides) by audit.record.
AUDITED_FIELDS = (
    "name", "address", "active", "imap_host", "imap_port", "imap_security", "imap_username",
    "imap_auth", "folder", "oauth_provider", "oauth_client_id", "smtp_host", "smtp_port",
    "smtp_security", "smtp_username", "imap_password_encrypted", "oauth_client_secret_encrypted",
    "oauth_refresh_token_encrypted", "smtp_password_encrypted",
)  # fmt: skip


def _audited(mailbox: Mailbox) -> dict[str, object]:
    return {field: getattr(mailbox, field) for field in AUDITED_FIELDS}


def create_mailbox(
    *,
    address: str,
    imap_settings: ImapSettings,
    name: str = "",
    smtp_settings: SmtpSettings | None = None,
    active: bool = True,
) -> Mailbox:
    """Add a mailbox; the first sweep (or the IDLE worker) starts fetching it."""
    mailbox = Mailbox(address=_address(address), name=_no_controls(name.strip(), what="Name")[:200])
    mailbox.active = active
    _apply_imap(mailbox, imap_settings)
    _apply_smtp(mailbox, smtp_settings)
    try:
        with transaction.atomic():
            mailbox.save()
            record("mailbox.created", obj=mailbox, detail={
                "address": mailbox.address, "imap_host": mailbox.imap_host, "active": mailbox.active,
            })  # fmt: skip
    except IntegrityError:
        raise MailboxInvalid(
            f"A mailbox for {mailbox.address} exists already", "address_taken"
        ) from None
    log.info("Mailbox %s added for %s", mailbox.pk, mailbox.address)
    return mailbox


def update_mailbox(
    mailbox: Mailbox,
    *,
    name: str | None = None,
    address: str | None = None,
    imap_settings: ImapSettings | None = None,
    smtp_settings: SmtpSettings | None = None,
    clear_smtp: bool = False,
    active: bool | None = None,
) -> Mailbox:
    """Change a mailbox. Omitted secrets are kept; changed connection settings clear the error
    and the backoff so the next fetch tries at once."""
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        before = _audited(mailbox)
        if name is not None:
            mailbox.name = _no_controls(name.strip(), what="Name")[:200]
        if address is not None:
            mailbox.address = _address(address)
        if imap_settings is not None:
            _apply_imap(mailbox, imap_settings)
        if clear_smtp:
            _apply_smtp(mailbox, None)
        elif smtp_settings is not None:
            _apply_smtp(mailbox, smtp_settings)
        if active is not None:
            mailbox.active = active
        if imap_settings is not None or active:
            mailbox.failures = 0
            mailbox.next_try_at = None
        try:
            with transaction.atomic():
                mailbox.save()
        except IntegrityError:
            raise MailboxInvalid(
                f"A mailbox for {mailbox.address} exists already", "address_taken"
            ) from None
        after = _audited(mailbox)
        changes = {f: (before[f], after[f]) for f in AUDITED_FIELDS if before[f] != after[f]}
        if changes:
            record("mailbox.updated", obj=mailbox, changes=changes)
    return mailbox


def set_active(mailbox: Mailbox, *, active: bool) -> Mailbox:
    """Pause (not fetched, IDLE connection closed) or resume a mailbox."""
    return update_mailbox(mailbox, active=active)


def delete_mailbox(mailbox: Mailbox) -> None:
    """Remove a mailbox. Its tickets stay (their `mailbox` becomes empty and replies go out
    from the global address); nothing on the IMAP server is touched."""
    mailbox_id = mailbox.pk
    with transaction.atomic():
        Mailbox.objects.filter(pk=mailbox_id).delete()
        record("mailbox.deleted", object_type="mailbox", object_id=mailbox_id,
               detail={"address": mailbox.address})  # fmt: skip
    log.info("Mailbox %s removed", mailbox_id)


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    ok: bool
    detail: str
    messages: int | None = None
    unseen: int | None = None


def test_connection(mailbox: Mailbox) -> TestResult:
    """Log in, open the folder and report what is there (or what went wrong). Read-only."""
    try:
        client = imap.connect(mailbox)
    except imap.MailboxError as exc:
        return TestResult(ok=False, detail=str(exc))
    try:
        status = client.folder_status(mailbox.folder, ["MESSAGES", "UNSEEN"])
    except Exception as exc:
        error = imap.describe(exc, where=f"{mailbox.imap_host}:{mailbox.imap_port}")
        return TestResult(
            ok=False, detail=f"Logged in, but folder {mailbox.folder!r} cannot be read: {error}"
        )
    finally:
        imap.close_quietly(client)
    messages, unseen = int(status.get(b"MESSAGES", 0)), int(status.get(b"UNSEEN", 0))
    return TestResult(
        ok=True,
        detail=f"Logged in; {mailbox.folder} has {messages} messages, {unseen} unseen.",
        messages=messages,
        unseen=unseen,
    )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
