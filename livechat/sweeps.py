from __future__ import annotations

from livechat import services
from supportdesk.sweeps import register


@register("chat_unanswered")
def notify_unanswered_chats() -> int:
    return services.notify_unanswered_chats()
