"""OAuth2 (XOAUTH2) mailboxes: the access token is refreshed before expiry from the provider's
token endpoint (a real HTTP server on loopback) and Dovecot checks it on login (introspection)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.secrets import decrypt
from mailboxes import imap
from mailboxes.fetch import fetch_mailbox
from mailboxes.models import Mailbox
from tests import factories
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _oauth_mailbox(imap_server, folder: str, provider: str = "google"):
    return factories.mailbox(
        imap_server,
        folder,
        password="",
        oauth_provider=provider,
        oauth_refresh_token="refresh-1",
        oauth_client_id="client-123",
        oauth_client_secret="client-secret-xyz",
    )


def test_a_google_mailbox_logs_in_with_a_refreshed_token_and_fetches(
    imap_server, make_mail, oauth_provider, settings
) -> None:
    settings.SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL = oauth_provider.url("/google/token")
    folder = imap_server.new_folder()
    mailbox = _oauth_mailbox(imap_server, folder)
    imap_server.append(folder, make_mail("o1"))

    result = fetch_mailbox(mailbox.pk)

    assert result.error == "" and result.stored == 1
    assert Ticket.objects.filter(mailbox=mailbox).count() == 1
    [(path, form)] = oauth_provider.token_requests
    assert path == "/google/token"
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "client_id": "client-123",
        "client_secret": "client-secret-xyz",
    }
    assert oauth_provider.introspections == 1  # Dovecot checked the token we sent
    mailbox.refresh_from_db()
    assert decrypt(mailbox.oauth_access_token_encrypted) == "access-1"
    assert "access-1" not in mailbox.oauth_access_token_encrypted
    assert decrypt(mailbox.oauth_refresh_token_encrypted) == "refresh-2"  # rotation kept
    assert mailbox.oauth_expires_at > timezone.now() + timedelta(minutes=55)


def test_the_token_is_reused_until_shortly_before_expiry_then_refreshed(
    imap_server, oauth_provider, settings
) -> None:
    settings.SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL = oauth_provider.url()
    mailbox = _oauth_mailbox(imap_server, imap_server.new_folder())

    assert imap.access_token(mailbox) == "access-1"
    assert imap.access_token(Mailbox.objects.get(pk=mailbox.pk)) == "access-1"
    assert len(oauth_provider.token_requests) == 1
    # One minute left: inside the safety margin, so it is refreshed before use.
    Mailbox.objects.filter(pk=mailbox.pk).update(
        oauth_expires_at=timezone.now() + timedelta(seconds=60)
    )
    assert imap.access_token(Mailbox.objects.get(pk=mailbox.pk)) == "access-2"
    assert oauth_provider.token_requests[-1][1]["refresh_token"] == "refresh-2"


def test_microsoft_uses_the_tenant_url_and_imap_scopes(
    imap_server, make_mail, oauth_provider, settings
) -> None:
    settings.SUPPORTDESK_OAUTH_MICROSOFT_TOKEN_URL = oauth_provider.url(
        "/{tenant}/oauth2/v2.0/token"
    )
    settings.SUPPORTDESK_OAUTH_MICROSOFT_TENANT = "contoso.onmicrosoft.com"
    folder = imap_server.new_folder()
    mailbox = _oauth_mailbox(imap_server, folder, provider="microsoft")
    imap_server.append(folder, make_mail("ms1"))

    assert fetch_mailbox(mailbox.pk).stored == 1

    [(path, form)] = oauth_provider.token_requests
    assert path == "/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in form["scope"]
    assert "offline_access" in form["scope"]


def test_a_revoked_refresh_token_is_a_clear_error_without_secrets(
    imap_server, oauth_provider, settings
) -> None:
    settings.SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL = oauth_provider.url()
    mailbox = _oauth_mailbox(imap_server, imap_server.new_folder())
    oauth_provider.refresh_tokens = set()  # revoked by the user at the provider

    result = fetch_mailbox(mailbox.pk)

    mailbox.refresh_from_db()
    assert "invalid_grant" in mailbox.last_error and "revoked" in mailbox.last_error
    assert result.error == mailbox.last_error
    for secret in ("refresh-1", "client-secret-xyz"):
        assert secret not in mailbox.last_error
    assert mailbox.failures == 1


def test_an_access_token_the_server_rejects_fails_the_login(
    imap_server, oauth_provider, settings
) -> None:
    settings.SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL = oauth_provider.url()
    mailbox = _oauth_mailbox(imap_server, imap_server.new_folder())
    imap.access_token(mailbox)
    oauth_provider.access_tokens.clear()  # revoked server-side before it expired

    result = fetch_mailbox(mailbox.pk)

    assert "Login failed" in result.error
