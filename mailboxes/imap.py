"""Connecting to a mailbox's IMAP server (imapclient) and OAuth2 access tokens for XOAUTH2.

Errors reach callers as `MailboxError` with a message fit for an admin's screen and the
mailbox's `last_error`: what failed and what the server said, never a password or a token.
"""

from __future__ import annotations

import imaplib
import json
import logging
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from core.secrets import SecretError, decrypt, encrypt
from mailboxes.models import AuthMethod, Mailbox, OAuthProvider, Security

log = logging.getLogger(__name__)

# An access token this close to its expiry is refreshed before use.
TOKEN_MARGIN = timedelta(seconds=120)


class MailboxError(Exception):
    """A mailbox cannot be reached or read; the message is safe to show and store."""


def ssl_context() -> ssl.SSLContext:
    """Certificate-checking TLS (plus SUPPORTDESK_IMAP_CA_FILE, for a private CA)."""
    context = ssl.create_default_context()
    if settings.SUPPORTDESK_IMAP_CA_FILE:
        context.load_verify_locations(cafile=settings.SUPPORTDESK_IMAP_CA_FILE)
    return context


def connect(mailbox: Mailbox, *, timeout: float | None = None) -> IMAPClient:
    """A logged-in IMAPClient for `mailbox` (folder not selected yet)."""
    timeout = float(timeout or settings.SUPPORTDESK_IMAP_TIMEOUT)
    where = f"{mailbox.imap_host}:{mailbox.imap_port}"
    client: IMAPClient | None = None
    try:
        secure = mailbox.imap_security == Security.SSL
        client = IMAPClient(
            mailbox.imap_host,
            port=mailbox.imap_port,
            ssl=secure,
            ssl_context=ssl_context() if secure else None,
            timeout=timeout,
        )
        if mailbox.imap_security == Security.STARTTLS:
            client.starttls(ssl_context())
        if mailbox.imap_auth == AuthMethod.OAUTH2:
            client.oauth2_login(mailbox.imap_username, access_token(mailbox))
        else:
            client.login(mailbox.imap_username, decrypt(mailbox.imap_password_encrypted))
        return client
    except Exception as exc:
        if client is not None:
            close_quietly(client)
        raise describe(exc, where=where) from exc


def describe(exc: BaseException, *, where: str) -> MailboxError:
    """`exc` as an admin-readable MailboxError (no secrets: none are in these messages)."""
    if isinstance(exc, MailboxError):
        return exc
    if isinstance(exc, LoginError):
        return MailboxError(f"Login failed at {where}: the server said {_server_text(exc)}")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return MailboxError(f"TLS error with {where}: {exc}")
    if isinstance(exc, socket.gaierror):
        return MailboxError(f"Cannot resolve {where}: {exc.strerror or exc}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return MailboxError(f"No answer from {where} (timed out)")
    if isinstance(exc, ConnectionRefusedError):
        return MailboxError(f"Connection refused by {where}: is the host and port right?")
    if isinstance(exc, imaplib.IMAP4.abort | ConnectionError | EOFError):
        return MailboxError(f"The connection to {where} was dropped: {_server_text(exc)}")
    if isinstance(exc, OSError):
        return MailboxError(f"Cannot reach {where}: {exc.strerror or exc}")
    if isinstance(exc, SecretError):
        return MailboxError(str(exc))
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error):
        return MailboxError(f"IMAP error at {where}: {_server_text(exc)}")
    return MailboxError(f"{type(exc).__name__} with {where}: {exc}")


def _server_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:500]


def close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:  # already gone: nothing to release
            log.debug("IMAP connection already closed", exc_info=True)


# --- OAuth2 ---------------------------------------------------------------------------------------


def token_url(mailbox: Mailbox) -> str:
    if mailbox.oauth_provider == OAuthProvider.MICROSOFT:
        return settings.SUPPORTDESK_OAUTH_MICROSOFT_TOKEN_URL.replace(
            "{tenant}", settings.SUPPORTDESK_OAUTH_MICROSOFT_TENANT
        )
    return settings.SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL


def _client_credentials(mailbox: Mailbox) -> tuple[str, str]:
    if mailbox.oauth_provider == OAuthProvider.MICROSOFT:
        default_id = settings.SUPPORTDESK_OAUTH_MICROSOFT_CLIENT_ID
        default_secret = settings.SUPPORTDESK_OAUTH_MICROSOFT_CLIENT_SECRET
    else:
        default_id = settings.SUPPORTDESK_OAUTH_GOOGLE_CLIENT_ID
        default_secret = settings.SUPPORTDESK_OAUTH_GOOGLE_CLIENT_SECRET
    return (
        mailbox.oauth_client_id or default_id,
        decrypt(mailbox.oauth_client_secret_encrypted) or default_secret,
    )


MICROSOFT_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send "
    "offline_access"
)


def access_token(mailbox: Mailbox) -> str:
    """A valid access token for `mailbox`: the stored one while it has more than TOKEN_MARGIN
    left, else a new one from the provider's token endpoint (a rotated refresh token is kept).
    Refreshes are serialised on the mailbox row, so two fetchers refresh once."""
    now = timezone.now()
    if (
        mailbox.oauth_access_token_encrypted
        and mailbox.oauth_expires_at
        and mailbox.oauth_expires_at - TOKEN_MARGIN > now
    ):
        return decrypt(mailbox.oauth_access_token_encrypted)
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if (
            locked.oauth_access_token_encrypted
            and locked.oauth_expires_at
            and locked.oauth_expires_at - TOKEN_MARGIN > timezone.now()
        ):
            token = decrypt(locked.oauth_access_token_encrypted)
        else:
            token = _refresh(locked)
        mailbox.oauth_access_token_encrypted = locked.oauth_access_token_encrypted
        mailbox.oauth_refresh_token_encrypted = locked.oauth_refresh_token_encrypted
        mailbox.oauth_expires_at = locked.oauth_expires_at
    return token


def _refresh(mailbox: Mailbox) -> str:
    refresh_token = decrypt(mailbox.oauth_refresh_token_encrypted)
    if not refresh_token:
        raise MailboxError("OAuth2 mailbox without a refresh token: add one (see the README)")
    client_id, client_secret = _client_credentials(mailbox)
    if not client_id:
        raise MailboxError(
            f"No OAuth2 client id for {mailbox.oauth_provider or 'the provider'}: set it on the "
            "mailbox or in SUPPORTDESK_OAUTH_*_CLIENT_ID"
        )
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    if mailbox.oauth_provider == OAuthProvider.MICROSOFT:
        form["scope"] = MICROSOFT_SCOPES
    url = token_url(mailbox)
    request = urllib.request.Request(  # noqa: S310 (an https URL from settings; http only in tests)
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.SUPPORTDESK_IMAP_TIMEOUT
        ) as response:
            payload = json.loads(response.read(65536) or b"{}")
    except urllib.error.HTTPError as exc:
        raise MailboxError(f"OAuth2 token refresh refused by {url}: {_oauth_error(exc)}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise MailboxError(f"OAuth2 token endpoint {url} unreachable: {exc}") from exc
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not token or not isinstance(token, str):
        raise MailboxError(f"OAuth2 token endpoint {url} answered without an access_token")
    try:
        expires_in = int(payload.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600
    mailbox.oauth_access_token_encrypted = encrypt(token)
    mailbox.oauth_expires_at = timezone.now() + timedelta(seconds=max(expires_in, 0))
    fields = ["oauth_access_token_encrypted", "oauth_expires_at"]
    rotated = payload.get("refresh_token")
    if isinstance(rotated, str) and rotated:
        mailbox.oauth_refresh_token_encrypted = encrypt(rotated)
        fields.append("oauth_refresh_token_encrypted")
    mailbox.save(update_fields=fields)
    log.info("Refreshed the OAuth2 access token of mailbox %s", mailbox.pk)
    return token


def _oauth_error(exc: urllib.error.HTTPError) -> str:
    """The provider's error code and description (RFC 6749 section 5.2), never the request."""
    try:
        body = json.loads(exc.read(8192) or b"{}")
    except (ValueError, OSError):
        body = {}
    if isinstance(body, dict) and body.get("error"):
        description = str(body.get("error_description", ""))[:300]
        return f"HTTP {exc.code} {body['error']}" + (f": {description}" if description else "")
    return f"HTTP {exc.code}"
