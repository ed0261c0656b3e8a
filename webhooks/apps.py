from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        # Subscribe to the domain hooks of the apps below (core.hooks).
        from webhooks import subscriptions

        subscriptions.register()
