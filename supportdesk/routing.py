"""Websocket routes. Each is wrapped in its origin check: agents' sockets carry session cookies and
accept only our own hosts; the visitor socket accepts the sites that embed the widget."""

from __future__ import annotations

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, path

from core.origins import WidgetOriginValidator
from livechat import consumers as chat
from tickets import consumers as tickets

websocket_urlpatterns: list[URLPattern] = [
    path("ws/chat/", WidgetOriginValidator(chat.VisitorConsumer.as_asgi())),
    path("ws/agent/", AllowedHostsOriginValidator(chat.AgentConsumer.as_asgi())),
    path("ws/inbox/", AllowedHostsOriginValidator(tickets.InboxConsumer.as_asgi())),
    path(
        "ws/tickets/<int:ticket_id>/", AllowedHostsOriginValidator(tickets.TicketConsumer.as_asgi())
    ),
]
