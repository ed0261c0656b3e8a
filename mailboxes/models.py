"""Mailboxes: a shop's existing support@ address, fetched over IMAP, answered through its SMTP.

Secrets (IMAP and SMTP passwords, OAuth client secrets and tokens) are stored encrypted
(`core.secrets`) in the `*_encrypted` columns; nothing here ever returns them in clear.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Security(models.TextChoices):
    SSL = "ssl", "SSL/TLS (implicit, port 993 / 465)"
    STARTTLS = "starttls", "STARTTLS (port 143 / 587)"
    NONE = "none", "None (plain text; loopback or trusted networks only)"


class AuthMethod(models.TextChoices):
    PASSWORD = "password", "Password"
    OAUTH2 = "oauth2", "OAuth2 (XOAUTH2)"


class OAuthProvider(models.TextChoices):
    GOOGLE = "google", "Google Workspace / Gmail"
    MICROSOFT = "microsoft", "Microsoft 365"


class Mailbox(models.Model):
    name = models.CharField(max_length=200, blank=True)
    address = models.EmailField(max_length=254, unique=True)
    active = models.BooleanField(default=True, help_text="Paused mailboxes are not fetched.")

    imap_host = models.CharField(max_length=255)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=16, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=320)
    imap_auth = models.CharField(
        max_length=16, choices=AuthMethod.choices, default=AuthMethod.PASSWORD
    )
    imap_password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(max_length=255, default="INBOX")

    oauth_provider = models.CharField(max_length=16, choices=OAuthProvider.choices, blank=True)
    oauth_client_id = models.CharField(max_length=255, blank=True)
    oauth_client_secret_encrypted = models.TextField(blank=True, editable=False)
    oauth_refresh_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_access_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_expires_at = models.DateTimeField(null=True, blank=True)

    # Optional: replies to this mailbox's tickets go out through it (else the global EMAIL_*).
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(null=True, blank=True)
    smtp_security = models.CharField(
        max_length=16, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(max_length=320, blank=True)
    smtp_password_encrypted = models.TextField(blank=True, editable=False)

    # Fetch state.
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    fetched = models.PositiveBigIntegerField(default=0, help_text="Messages stored from it.")
    failures = models.PositiveIntegerField(default=0, help_text="Failed fetches in a row.")
    next_try_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address

    def __repr__(self) -> str:  # never a secret, even in a traceback's locals
        return f"<Mailbox {self.pk} {self.address}>"

    @property
    def has_smtp(self) -> bool:
        return bool(self.smtp_host)


class MailboxFolder(models.Model):
    """Where fetching stands in one folder: its UIDVALIDITY and the highest UID handled."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="one_state_per_folder")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.name} uidvalidity={self.uidvalidity} last={self.last_uid}"
