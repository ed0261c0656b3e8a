from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from django.core import checks

        from core import hooks
        from tickets import services, waits

        hooks.customer_merged.register(services.move_customer_tickets)
        checks.register(waits.check_targets)
