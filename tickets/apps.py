from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from core import hooks
        from tickets import services

        hooks.customer_merged.register(services.move_customer_tickets)
