"""Websocket routes. Each is wrapped in its origin check: agents' sockets carry session cookies and
accept only our own origins (scheme, host and port; core/origins.py); the visitor socket accepts
the sites that embed the widget."""

from __future__ import annotations

from django.urls import URLPattern, path

from core.origins import AgentOriginValidator, WidgetOriginValidator
from livechat import consumers as chat
from tickets import consumers as tickets

websocket_urlpatterns: list[URLPattern] = [
    path("ws/chat/", WidgetOriginValidator(chat.VisitorConsumer.as_asgi())),
    path("ws/agent/", AgentOriginValidator(chat.AgentConsumer.as_asgi())),
    path("ws/inbox/", AgentOriginValidator(tickets.InboxConsumer.as_asgi())),
    path("ws/tickets/<int:ticket_id>/", AgentOriginValidator(tickets.TicketConsumer.as_asgi())),
]
