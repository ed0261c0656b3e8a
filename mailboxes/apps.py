from django.apps import AppConfig


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    verbose_name = "Mailboxes"

    def ready(self) -> None:
        # Outgoing mail of a mailbox's tickets goes through its SMTP server, when it has one.
        from mailboxes.transport import smtp_for_mailbox
        from mailer.transports import register_transport

        register_transport("mailbox", smtp_for_mailbox)
