from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "care"

    def ready(self) -> None:
        from care import api
        from core import hooks

        # The ticket JSON shows the problem behind a care ticket.
        hooks.ticket_care.register(api.ticket_care)
