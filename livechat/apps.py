from django.apps import AppConfig


class LivechatConfig(AppConfig):
    name = "livechat"

    def ready(self) -> None:
        from attachments.access import register_visitor_resolver
        from core import hooks
        from core.realtime import resync_groups
        from livechat import routing, services
        from livechat.events import GROUP_PREFIX
        from livechat.services import visitor_conversation_id

        # A visitor token opens the files of its own chat (attachments.access).
        register_visitor_resolver(visitor_conversation_id)
        # Chat sockets catch up from the database (a `sync` frame) after a channel-layer blip.
        resync_groups(GROUP_PREFIX)
        # A customer merge moves the merged customer's chats.
        hooks.customer_merged.register(services.move_customer_chats)
        # Automatic routing (livechat/routing.py): a chat that waits is offered, and so is the
        # queue when an agent may take more.
        hooks.chat_waiting.register(routing.on_chat_waiting)
        hooks.chat_capacity_changed.register(routing.on_capacity_changed)
        hooks.chat_ended.register(routing.on_chat_ended)
