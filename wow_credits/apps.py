from django.apps import AppConfig


class WowCreditsConfig(AppConfig):
    name = "wow_credits"

    def ready(self) -> None:
        from core import hooks
        from wow_credits import services

        hooks.customer_merged.register(services.move_customer_grants)
