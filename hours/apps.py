from django.apps import AppConfig


class HoursConfig(AppConfig):
    name = "hours"
    verbose_name = "Business hours"

    def ready(self) -> None:
        from core import hooks
        from hours import acknowledgements, services

        hooks.customer_wrote_in.register(acknowledgements.customer_wrote_in)
        hooks.next_business_morning.register(services.business_morning)
        hooks.business_clock.register(services.business_clock)
