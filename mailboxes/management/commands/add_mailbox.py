"""python manage.py add_mailbox ADDRESS --imap-host H ... : prints the new mailbox's id last."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailboxes.models import OAuthProvider, Security
from mailboxes.services import ImapSettings, MailboxInvalid, SmtpSettings, create_mailbox

SECURITY = [s.value for s in Security]


class Command(BaseCommand):
    help = (
        "Add a shop mailbox fetched over IMAP (password, or an OAuth2 refresh token for Google "
        "Workspace / Microsoft 365). Prints the new mailbox's id as the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="The address customers write to, e.g. support@shop.com")
        parser.add_argument("--name", default="")
        parser.add_argument("--imap-host", required=True)
        parser.add_argument("--imap-port", type=int)
        parser.add_argument("--imap-user", default="", help="Default: the address")
        parser.add_argument("--imap-password", default="")
        parser.add_argument("--imap-security", choices=SECURITY, default=Security.SSL.value)
        parser.add_argument("--folder", default="INBOX")
        parser.add_argument(
            "--oauth-provider", choices=[p.value for p in OAuthProvider], default=""
        )
        parser.add_argument("--oauth-refresh-token", default="")
        parser.add_argument("--oauth-client-id", default="")
        parser.add_argument("--oauth-client-secret", default="")
        parser.add_argument("--smtp-host", default="")
        parser.add_argument("--smtp-port", type=int)
        parser.add_argument("--smtp-user", default="")
        parser.add_argument("--smtp-password", default="")
        parser.add_argument("--smtp-security", choices=SECURITY, default=Security.STARTTLS.value)
        parser.add_argument("--paused", action="store_true", help="Add it without fetching yet")

    def handle(self, *args: Any, **options: Any) -> None:
        smtp = None
        if options["smtp_host"]:
            smtp = SmtpSettings(
                host=options["smtp_host"],
                port=options["smtp_port"],
                username=options["smtp_user"],
                password=options["smtp_password"],
                security=options["smtp_security"],
            )
        try:
            mailbox = create_mailbox(
                address=options["address"],
                name=options["name"],
                imap_settings=ImapSettings(
                    host=options["imap_host"],
                    port=options["imap_port"],
                    username=options["imap_user"],
                    password=options["imap_password"],
                    security=options["imap_security"],
                    folder=options["folder"],
                    oauth_provider=options["oauth_provider"],
                    oauth_refresh_token=options["oauth_refresh_token"],
                    oauth_client_id=options["oauth_client_id"],
                    oauth_client_secret=options["oauth_client_secret"],
                ),
                smtp_settings=smtp,
                active=not options["paused"],
            )
        except MailboxInvalid as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Mailbox {mailbox.address} added ({mailbox.imap_host}:{mailbox.imap_port}, "
            f"{mailbox.imap_security}, folder {mailbox.folder}); `manage.py sweep` or "
            "`manage.py fetch_mail --forever` fetches it."
        )
        self.stdout.write(str(mailbox.pk))
