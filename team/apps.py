from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "team"

    def ready(self) -> None:
        from core import hooks
        from team import services

        # The chat console's heartbeat counts toward support hours like an agent page's.
        hooks.agent_active.register(services.count_agent_activity)
