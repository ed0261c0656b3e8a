from __future__ import annotations

from core.sweeps import register
from livechat import routing, services


@register("chat_unanswered")
def notify_unanswered_chats() -> int:
    return services.notify_unanswered_chats()


@register("chat_routing")
def route_waiting_chats() -> int:
    return routing.sweep()
