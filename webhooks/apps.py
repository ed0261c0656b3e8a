from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        # Subscribe to the domain hooks of the apps below (tickets' named signals).
        from webhooks import subscriptions  # noqa: F401
