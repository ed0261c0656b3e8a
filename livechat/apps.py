from django.apps import AppConfig


class LivechatConfig(AppConfig):
    name = "livechat"

    def ready(self) -> None:
        from attachments.access import register_visitor_resolver
        from livechat.services import visitor_conversation_id

        # A visitor token opens the files of its own chat (attachments.access).
        register_visitor_resolver(visitor_conversation_id)
