from __future__ import annotations

from core.sweeps import register
from livechat import services


@register("chat_unanswered")
def notify_unanswered_chats() -> int:
    return services.notify_unanswered_chats()
