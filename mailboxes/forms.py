from __future__ import annotations

from django import forms

from mailboxes.models import OAuthProvider, Security


class MailboxForm(forms.Form):
    address = forms.EmailField(max_length=254, help_text="The address customers write to.")
    name = forms.CharField(max_length=200, required=False)
    imap_host = forms.CharField(label="IMAP host", max_length=255)
    imap_port = forms.IntegerField(
        label="IMAP port", min_value=1, max_value=65535, required=False, help_text="993 for SSL"
    )
    imap_security = forms.ChoiceField(label="IMAP security", choices=Security.choices)
    imap_user = forms.CharField(
        label="IMAP user", max_length=320, required=False, help_text="Default: the address."
    )
    imap_password = forms.CharField(
        label="IMAP password",
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. For Gmail or Microsoft 365, leave empty and use OAuth2 below.",
    )
    folder = forms.CharField(max_length=255, initial="INBOX")
    oauth_provider = forms.ChoiceField(
        label="OAuth2 provider",
        choices=[("", "none (password)"), *OAuthProvider.choices],
        required=False,
    )
    oauth_refresh_token = forms.CharField(
        label="OAuth2 refresh token",
        max_length=4000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="See the README: Mailboxes, Gmail / Microsoft 365.",
    )
    smtp_host = forms.CharField(
        label="SMTP host",
        max_length=255,
        required=False,
        help_text="Optional: replies go out through it (else the global server).",
    )
    smtp_port = forms.IntegerField(label="SMTP port", min_value=1, max_value=65535, required=False)
    smtp_security = forms.ChoiceField(
        label="SMTP security", choices=Security.choices, initial=Security.STARTTLS
    )
    smtp_user = forms.CharField(label="SMTP user", max_length=320, required=False)
    smtp_password = forms.CharField(
        label="SMTP password",
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
